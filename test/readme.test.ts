import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

/** The README's ```ts example that contains `marker`. */
async function example(marker: string): Promise<string> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const found = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .find((c) => c.includes(marker));
  assert.ok(found, `the README has a \`\`\`ts example with ${marker}`);
  return found;
}

/** A scratch folder inside the repository (git-ignored), so that the examples' imports resolve. */
async function scratch(prefix: string): Promise<string> {
  await mkdir(join(root, '.tmp'), { recursive: true });
  return mkdtemp(join(root, '.tmp', prefix));
}

/** Runs `code` (importing unforget from source) in a process of its own, in `folder`; returns its output. */
async function run(code: string, folder: string): Promise<string> {
  const file = join(folder, 'example.mts');
  await writeFile(file, code.replace(/from 'unforget'/g, `from '${join(root, 'src', 'index.ts')}'`));
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', file], { cwd: folder });
  return stdout;
}

test("the README's TypeScript example runs (with a smaller budget)", async () => {
  const code = await example('await train(');
  assert.match(code, /epochs: 4/);
  const folder = await scratch('readme-');
  try {
    const stdout = await run(
      code.replace(/epochs: 4/, 'iterations: 3').replace(/hidden: \[400, 400\]/, 'hidden: [16]'),
      folder,
    );
    // It prints the matrix (five rows of five), the average accuracy and the backward transfer.
    assert.match(stdout, /\[\s*\[/);
    assert.match(stdout, /\]\s+0\.\d+ -?0\.\d+/);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test("the README's model's-life example runs on a model it is given (with a smaller budget)", async () => {
  const code = await example('keepHead');
  assert.match(code, /epochs: 2/);
  const folder = await scratch('readme-life-');
  try {
    // The model the walk-through's first two commands make: a plain TF.js classifier of digits 0-4.
    await run(
      `import * as tf from '@tensorflow/tfjs';
import { fileHandler, useBackend } from 'unforget';
await useBackend();
const model = tf.sequential({ layers: [
  tf.layers.flatten({ inputShape: [28, 28, 1] }),
  tf.layers.dense({ units: 16, activation: 'relu' }),
  tf.layers.dense({ units: 5, activation: 'softmax' }),
] });
await model.save(fileHandler('demo/my-model'));`,
      folder,
    );
    const stdout = await run(code.replace(/epochs: 2/, 'iterations: 3'), folder);
    // The new task's accuracies (none measured for the adopted task), then the adopted task's.
    assert.match(stdout, /\[ null, 0\.\d+ \]/);
    assert.match(stdout, /'digits 0-4': 0\.\d+, 'digits 5-9': null/);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
