/**
 * The folder where unforget keeps what it makes once per machine and reuses: the native BLAS addon
 * and the decoded MNIST. `$UNFORGET_CACHE`, else `~/.cache/unforget`. Node.js only (its modules are
 * looked up, not imported, so that browser bundles never see them).
 */
export function cacheDir(): string {
  const { homedir } = process.getBuiltinModule('node:os');
  const { join } = process.getBuiltinModule('node:path');
  return process.env.UNFORGET_CACHE ?? join(homedir(), '.cache', 'unforget');
}
