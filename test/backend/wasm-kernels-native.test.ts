import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNativeBlas, nativeBlasStatus } from '../../src/backend/wasm/native-blas.js';

// The same cases as wasm-kernels.test.ts, with the optional native BLAS addon routing the products
// and convolution gradients, where this machine can build it (a C compiler, Node's headers, a BLAS).
if (loadNativeBlas(true)) {
  process.env.UNFORGET_NATIVE_BLAS = '1';
  await import('./wasm-kernels.test.js');
} else {
  test(
    'wasm kernels with the native BLAS addon',
    { skip: `no native BLAS here: ${nativeBlasStatus()}` },
    () => {},
  );
}

test('where the addon cannot be built, loading says why and the wasm kernels carry on', () => {
  const cache = mkdtempSync(join(tmpdir(), 'unforget-no-cc-'));
  try {
    const script = [
      "import * as tf from '@tensorflow/tfjs';",
      "import { enableWasmTrainingKernels, wasmNativeBlasStatus } from './src/backend/wasm/index.js';",
      "await tf.setBackend('wasm');",
      'enableWasmTrainingKernels({ nativeBlas: true });',
      'const g = tf.grads((a, b) => tf.sum(tf.matMul(a, b, true, false)))([tf.ones([3, 2]), tf.ones([3, 4])]);',
      'console.log(JSON.stringify({ status: wasmNativeBlasStatus(), sum: g[0].sum().dataSync()[0] }));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, CC: '/nonexistent/cc', UNFORGET_CACHE: cache, UNFORGET_NATIVE_BLAS: '' },
      encoding: 'utf8',
    });
    const { status, sum } = JSON.parse(out.trim().split('\n').pop() ?? '{}');
    assert.equal(status.active, false);
    assert.match(status.detail, /nonexistent|ENOENT/);
    assert.equal(sum, 24);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
