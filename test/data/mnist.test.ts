import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMnist } from '../../src/data/mnist.js';
import { validateDataset, exampleSize } from '../../src/data/dataset.js';

test('the bundled MNIST splits each digit 80/20 in package order', () => {
  const { train, test: testSet } = loadMnist();
  validateDataset(train, 'train');
  validateDataset(testSet, 'test');
  assert.equal(train.shape[0] + testSet.shape[0], 10000);
  assert.deepEqual(train.shape.slice(1), [28, 28, 1]);
  assert.equal(exampleSize(train), 784);
  const counts = new Array(10).fill(0);
  for (const y of train.labels) counts[y]++;
  // The package holds 1001 zeros and 1127 ones: 80% of each, rounded down.
  assert.equal(counts[0], 800);
  assert.equal(counts[1], 901);
  let max = 0;
  for (const v of train.inputs) max = Math.max(max, v);
  assert.ok(max <= 1 && max > 0.9, `pixels are in [0, 1]; max ${max}`);
});

/** Loads MNIST in a fresh process with the given cache folder; returns a digest of the split. */
function loadIn(cache: string): { digest: string; ms: number } {
  const script = `
    import { createHash } from 'node:crypto';
    import { loadMnist } from './src/data/mnist.ts';
    const started = performance.now();
    const { train, test } = loadMnist();
    const ms = performance.now() - started;
    const hash = createHash('sha256');
    for (const d of [train, test]) {
      hash.update(new Uint8Array(d.inputs.buffer)).update(new Uint8Array(d.labels.buffer));
      hash.update(JSON.stringify([d.shape, d.classNames]));
    }
    console.log(JSON.stringify({ digest: hash.digest('hex'), ms }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, UNFORGET_CACHE: cache },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { digest: string; ms: number };
}

test('the first load writes a binary copy to the cache folder; later loads read it and get the same split; a damaged or unwritable cache changes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unforget-mnist-'));
  try {
    const cache = join(dir, 'cache');
    const first = loadIn(cache);
    const files = readdirSync(cache);
    assert.equal(files.length, 1, `one file in the cache: ${files.join(', ')}`);
    assert.match(files[0], /^mnist-.*\.ufmn$/);
    const second = loadIn(cache);
    assert.equal(second.digest, first.digest);
    // Half a file: skipped, the package decoded again, the file rewritten whole.
    const file = join(cache, files[0]);
    const whole = readFileSync(file);
    writeFileSync(file, whole.subarray(0, whole.length >> 1));
    assert.equal(loadIn(cache).digest, first.digest);
    assert.equal(readFileSync(file).length, whole.length);
    // A cache "folder" that is a file: nothing can be written, the split is the same.
    const blocked = join(dir, 'a-file');
    writeFileSync(blocked, 'x');
    assert.equal(loadIn(blocked).digest, first.digest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
