import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { pointAtShims, shimFile, shimmed, writeNodeShims } from '../../scripts/node-shims.js';

const root = join(import.meta.dirname, '..', '..');

test("package.json's imports point each '#' name at its shim under node and at the package elsewhere", () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    imports: Record<string, { node: string; default: string }>;
    scripts: Record<string, string>;
  };
  for (const [name, alias] of Object.entries(shimmed)) {
    assert.deepEqual(pkg.imports[alias], { node: `./dist/src/shims/${shimFile(name)}`, default: name });
  }
  for (const script of ['build', 'prepare'])
    assert.match(pkg.scripts[script], /tsx scripts\/node-shims\.ts$/);
});

test('a shim exports every name TensorFlow.js exports, the very same objects, and the package as default', async () => {
  const dist = mkdtempSync(join(tmpdir(), 'unforget-shims-'));
  try {
    writeNodeShims(dist, root);
    // The shim requires the package relative to where it is: link it beside this project's node_modules.
    const shimPath = join(dist, 'shims', shimFile('@tensorflow/tfjs'));
    const source = readFileSync(shimPath, 'utf8').replace(
      'createRequire(import.meta.url)',
      `createRequire(${JSON.stringify(pathToFileURL(join(root, 'package.json')).href)})`,
    );
    writeFileSync(shimPath, source);
    const shim = (await import(pathToFileURL(shimPath).href)) as Record<string, unknown>;
    const names = Object.keys(tf).filter((k) => k !== 'default');
    assert.ok(names.length > 300, `TensorFlow.js exports ${names.length} names`);
    for (const name of names) assert.equal(shim[name], (tf as Record<string, unknown>)[name], name);
    assert.equal(shim.default, createRequire(join(root, 'package.json'))('@tensorflow/tfjs'));
  } finally {
    rmSync(dist, { recursive: true, force: true });
  }
});

test('the built files are pointed at the shims: static, side-effect and dynamic imports; nothing else', () => {
  const dist = mkdtempSync(join(tmpdir(), 'unforget-shims-'));
  try {
    mkdirSync(join(dist, 'a'));
    const code = [
      "import * as tf from '@tensorflow/tfjs';",
      "import '@tensorflow/tfjs-backend-wasm';",
      "const wasm = await import('@tensorflow/tfjs-backend-wasm');",
      "import { x } from '@tensorflow/tfjs-layers';",
      "const text = 'see @tensorflow/tfjs for more';",
    ].join('\n');
    writeFileSync(join(dist, 'a', 'm.js'), code);
    writeFileSync(join(dist, 'a', 'm.d.ts'), "import * as tf from '@tensorflow/tfjs';");
    writeNodeShims(dist, root);
    assert.equal(
      readFileSync(join(dist, 'a', 'm.js'), 'utf8'),
      [
        "import * as tf from '#tfjs';",
        "import '#tfjs-backend-wasm';",
        "const wasm = await import('#tfjs-backend-wasm');",
        "import { x } from '@tensorflow/tfjs-layers';",
        "const text = 'see @tensorflow/tfjs for more';",
      ].join('\n'),
    );
    // Type declarations keep the package's name; a second pass changes nothing.
    assert.equal(readFileSync(join(dist, 'a', 'm.d.ts'), 'utf8'), "import * as tf from '@tensorflow/tfjs';");
    assert.equal(
      pointAtShims(readFileSync(join(dist, 'a', 'm.js'), 'utf8')),
      readFileSync(join(dist, 'a', 'm.js'), 'utf8'),
    );
  } finally {
    rmSync(dist, { recursive: true, force: true });
  }
});
