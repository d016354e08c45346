import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

test("the README's TypeScript example runs (with a smaller budget)", async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(example, 'the README has a ```ts example');
  assert.match(example, /epochs: 4/);
  const code = example
    .replace(/from 'unforget'/g, `from '${join(root, 'src', 'index.ts')}'`)
    .replace(/epochs: 4/, 'iterations: 3')
    .replace(/hidden: \[400, 400\]/, 'hidden: [16]');
  const folder = await mkdtemp(join(tmpdir(), 'unforget-readme-'));
  const file = join(folder, 'example.mts');
  await writeFile(file, code);
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', file], { cwd: root });
  await rm(folder, { recursive: true });
  // It prints the matrix (five rows of five), the average accuracy and the backward transfer.
  assert.match(stdout, /\[\s*\[/);
  assert.match(stdout, /\]\s+0\.\d+ -?0\.\d+/);
});
