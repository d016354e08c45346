import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  enableWasmTrainingKernels,
  nativeBlasStatus,
  setNativeBlasThreads,
} from '../../src/backend/wasm/index.js';
import {
  gemmOperands,
  loadNativeBlas,
  nativeBlasSelfCheck,
  nativeBlasState,
  type NativeBlas,
} from '../../src/backend/wasm/native-blas.js';

// The same cases as wasm-kernels.test.ts, with the optional native BLAS addon routing the products
// and convolution gradients, where this machine can build it (a C compiler, Node's headers, a BLAS).
const blas = loadNativeBlas(true);
if (blas) {
  process.env.UNFORGET_NATIVE_BLAS = '1';
  await import('./wasm-kernels.test.js');
} else {
  test(
    'wasm kernels with the native BLAS addon',
    { skip: `no native BLAS here: ${nativeBlasState().reason}` },
    () => {},
  );
}

/** Runs `script` in a fresh Node process (this repository's sources) and returns its last line as JSON. */
function child(script: string[], env: Record<string, string>): Record<string, unknown> {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script.join('\n')],
    { env: { ...process.env, ...env }, encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

const gradSum = [
  "import * as tf from '@tensorflow/tfjs';",
  "import { enableWasmTrainingKernels, nativeBlasStatus } from './src/backend/wasm/index.js';",
  "await tf.setBackend('wasm');",
  'enableWasmTrainingKernels();',
  'const g = tf.grads((a, b) => tf.sum(tf.matMul(a, b, true, false)))([tf.ones([3, 2]), tf.ones([3, 4])]);',
  'console.log(JSON.stringify({ status: nativeBlasStatus(), sum: g[0].sum().dataSync()[0] }));',
];

test('where the addon cannot be built, the status says why and the wasm kernels carry on', () => {
  const cache = mkdtempSync(join(tmpdir(), 'unforget-no-cc-'));
  try {
    const { status, sum } = child(gradSum, {
      CC: '/nonexistent/cc',
      UNFORGET_CACHE: cache,
      UNFORGET_NATIVE_BLAS: '',
    }) as {
      status: { active: boolean; reason: string };
      sum: number;
    };
    assert.equal(status.active, false);
    assert.match(status.reason, /no C compiler at '\/nonexistent\/cc'.*apt install gcc/);
    assert.equal(sum, 24);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('UNFORGET_NATIVE_BLAS=0 turns the addon off', () => {
  const { status, sum } = child(gradSum, { UNFORGET_NATIVE_BLAS: '0' }) as {
    status: { active: boolean; reason: string };
    sum: number;
  };
  assert.equal(status.active, false);
  assert.match(status.reason, /UNFORGET_NATIVE_BLAS=0/);
  assert.equal(sum, 24);
});

test('the self-check refuses a product that is wrong', () => {
  // A gemm that computes nothing (leaves its output as it was) and one that ignores transposes.
  const idle: Pick<NativeBlas, 'gemm'> = { gemm: () => {} };
  assert.match(nativeBlasSelfCheck(idle) ?? '', /off by/);
  if (!blas) return;
  const noTranspose: Pick<NativeBlas, 'gemm'> = {
    gemm: (memory, _ta, _tb, ...rest) => blas.gemm(memory, 0, 0, ...rest),
  };
  assert.match(nativeBlasSelfCheck(noTranspose) ?? '', /aᵀ·b .* off by/);
  // One wrong float in the biased relu product.
  const offByOne: Pick<NativeBlas, 'gemm'> = {
    gemm: (memory, ta, tb, m, n, k, aAt, bAt, cAt, biasAt, relu) => {
      blas.gemm(memory, ta, tb, m, n, k, aAt, bAt, cAt, biasAt, relu);
      if (biasAt > 0 && relu) new Float32Array(memory, cAt, m * n)[m * n - 1] += 0.01;
    },
  };
  assert.match(nativeBlasSelfCheck(offByOne) ?? '', /12×40×10 product a·b \+ bias, relu is off by/);
  // A right product with an Adam update that forgets the bias correction of v (root = 1).
  const noCorrection: Pick<NativeBlas, 'gemm' | 'adam'> = {
    gemm: blas.gemm,
    adam: (memory, n, ...rest) => {
      const args = [...rest] as Parameters<NativeBlas['adam']> extends [ArrayBuffer, number, ...infer R]
        ? R
        : never;
      args[args.length - 1] = 1;
      blas.adam(memory, n, ...args);
    },
  };
  assert.match(nativeBlasSelfCheck(noCorrection) ?? '', /Adam update is off by/);
});

test('the self-check passes the real addon, which is on by default where it builds', { skip: !blas }, () => {
  assert.equal(nativeBlasSelfCheck(blas!), undefined);
  const { status } = child(gradSum, { UNFORGET_NATIVE_BLAS: '' }) as {
    status: { active: boolean; library: string };
  };
  assert.equal(status.active, true);
  assert.match(status.library, /blas/);
});

test('setNativeBlasThreads sets the BLAS threads, and refuses a count below one', { skip: !blas }, () => {
  enableWasmTrainingKernels({ nativeBlas: true });
  setNativeBlasThreads(2);
  assert.equal(nativeBlasStatus().threads, 2);
  setNativeBlasThreads(1);
  assert.equal(nativeBlasStatus().threads, 1);
  assert.throws(() => setNativeBlasThreads(0), /whole number ≥ 1/);
});

test(
  'products and Adam updates shared between threads give exactly the one-thread results',
  { skip: !blas },
  () => {
    const b = blas!;
    let seed = 11;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 1073741824 - 1;
    };
    // Shapes of an MLP step at batch 128 (large enough to be shared) in every transpose, one with the
    // bias and relu epilogue, and sizes that do not divide into the chunks evenly.
    const cases: [m: number, k: number, n: number, ta: number, tb: number, bias: number, relu: number][] = [
      [128, 784, 400, 0, 0, 0, 0],
      [784, 128, 400, 1, 0, 0, 0],
      [128, 400, 400, 0, 1, 0, 0],
      [300, 77, 301, 1, 1, 0, 0],
      [131, 400, 397, 0, 0, 1, 1],
    ];
    try {
      for (const [m, k, n, ta, tb, bias, relu] of cases) {
        const { memory, aAt, bAt, biasAt, cAt } = gemmOperands(m, k, n, random);
        const results = [1, 2, 3].map((threads) => {
          assert.equal(b.threads(threads), threads);
          memory.fill(Number.NaN, cAt);
          b.gemm(memory.buffer, ta, tb, m, n, k, 4 * aAt, 4 * bAt, 4 * cAt, bias ? 4 * biasAt : 0, relu);
          return memory.slice(cAt);
        });
        assert.ok(!results[0].some(Number.isNaN), `${m}×${k}×${n}: every output written`);
        assert.deepEqual(results[1], results[0], `${m}×${k}×${n} on 2 threads`);
        assert.deepEqual(results[2], results[0], `${m}×${k}×${n} on 3 threads`);
      }
      // Adam over 200,003 floats: value, gradient, m, v (v ≥ 0), the new value.
      const n = 200_003;
      const start = new Float32Array(1 + 5 * n);
      for (let i = 1; i <= 4 * n; i++) start[i] = i > 3 * n ? Math.abs(random()) : random();
      const updates = [1, 2].map((threads) => {
        b.threads(threads);
        const memory = start.slice();
        const at = (j: number) => 4 * (1 + j * n);
        b.adam(memory.buffer, n, at(0), at(1), at(2), at(3), at(4), 0.9, 0.999, 1e-7, 0.01, 3);
        return memory;
      });
      assert.ok(
        updates[0].subarray(1 + 4 * n).some((v, i) => v !== start[1 + i]),
        'the update moved the weights',
      );
      assert.deepEqual(updates[1], updates[0], 'Adam on 2 threads');
    } finally {
      b.threads(1);
    }
  },
);
