/**
 * Makes the built package load TensorFlow.js about 0.4 s faster in Node.js. TensorFlow.js's packages
 * are CommonJS, and when an ES module imports one, Node first scans its source (and the sources it
 * re-exports) for the names it exports: about as long as loading it. `require` skips the scan. So
 * after tsc, the build writes for each package below a small ES module that `require`s it and
 * exports its names, listed now (dist/src/shims/<name>.js), and points the built files' imports of
 * the package at package.json's "imports" entry for it: '#tfjs' is that module under the "node"
 * condition and the package itself anywhere else, so bundlers for the browser see TensorFlow.js as
 * before. Sources, tests and type declarations keep importing the packages by name.
 *
 *   tsx scripts/node-shims.ts   (run by `npm run build` and `prepare`)
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Each package given a shim, with the '#' import (package.json "imports") the built files use instead. */
export const shimmed: Readonly<Record<string, string>> = {
  '@tensorflow/tfjs': '#tfjs',
  '@tensorflow/tfjs-backend-wasm': '#tfjs-backend-wasm',
};

/** The shim's file name in dist/src/shims: the package's name without its scope. */
export function shimFile(pkg: string): string {
  return `${pkg.split('/').pop()}.js`;
}

/** An ES module that requires `pkg` (resolved from `from`) and exports every name it has, and itself as default. */
export function shimSource(pkg: string, from = root): string {
  const exported = createRequire(join(from, 'package.json'))(pkg) as object;
  const names = Object.keys(exported).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default');
  return [
    `// Written by unforget's scripts/node-shims.ts: ${pkg} required as CommonJS, its names exported.`,
    "import { createRequire } from 'node:module';",
    `const m = createRequire(import.meta.url)(${JSON.stringify(pkg)});`,
    `export const { ${names.join(', ')} } = m;`,
    'export default m;',
    '',
  ].join('\n');
}

/** `code` with its static, side-effect and dynamic imports of the shimmed packages pointed at their '#' imports. */
export function pointAtShims(code: string): string {
  let out = code;
  for (const [pkg, alias] of Object.entries(shimmed)) {
    for (const [before, after] of [
      [`from '${pkg}'`, `from '${alias}'`],
      [`import '${pkg}'`, `import '${alias}'`],
      [`import('${pkg}')`, `import('${alias}')`],
    ]) {
      out = out.replaceAll(before, after);
    }
  }
  return out;
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsFiles(path);
    return name.endsWith('.js') ? [path] : [];
  });
}

/** Writes the shims into `dist`/shims and points the JavaScript files under `dist` at them. */
export function writeNodeShims(dist = join(root, 'dist', 'src'), from = root): void {
  const shims = join(dist, 'shims');
  mkdirSync(shims, { recursive: true });
  for (const pkg of Object.keys(shimmed)) writeFileSync(join(shims, shimFile(pkg)), shimSource(pkg, from));
  for (const file of jsFiles(dist)) {
    const code = readFileSync(file, 'utf8');
    const pointed = pointAtShims(code);
    if (pointed !== code) writeFileSync(file, pointed);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) writeNodeShims();
