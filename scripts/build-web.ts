/**
 * Builds the web page into dist/web: the page's script bundled with esbuild (TensorFlow.js and the
 * browser parts of unforget in one file), its HTML and CSS, and the wasm backend's .wasm files, so
 * `unforget serve` hands out everything from this machine. Run by `npm run build:web` and `prepare`.
 */
import { build, type Plugin } from 'esbuild';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** Node's built-in modules become a stand-in in the page's bundle that throws when used. */
const nodeBuiltinsStub: Plugin = {
  name: 'node-builtins-stub',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
      contents:
        `module.exports = new Proxy({}, { get: (_, key) => key === '__esModule' ? false : () => { ` +
        `throw new Error(${JSON.stringify(`${args.path} is not available in the browser`)}); } });`,
      loader: 'js',
    }));
  },
};

export async function buildWeb(out = join(root, 'dist', 'web')): Promise<string> {
  await rm(out, { recursive: true, force: true });
  await mkdir(join(out, 'wasm'), { recursive: true });
  await build({
    entryPoints: [join(root, 'web', 'main.ts')],
    outfile: join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'linked',
    logLevel: 'warning',
    plugins: [nodeBuiltinsStub],
  });
  for (const name of ['index.html', 'style.css', 'favicon.svg']) {
    await copyFile(join(root, 'web', name), join(out, name));
  }
  const require = createRequire(import.meta.url);
  const wasmDist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  for (const name of await readdir(join(wasmDist, 'dist'))) {
    if (name.endsWith('.wasm')) await copyFile(join(wasmDist, 'dist', name), join(out, 'wasm', name));
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const out = await buildWeb();
  console.log(`unforget: built the web page into ${out} in ${Date.now() - started} ms`);
}
