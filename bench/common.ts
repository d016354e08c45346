/** What the benchmark scripts share: their flags, mean ± std, and a pool of child processes. */
import { spawn } from 'node:child_process';

/** The value after `--name` on the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? '') : fallback;
}

/** Mean and sample standard deviation (0 for a single value). */
export function meanStd(xs: readonly number[]): { m: number; sd: number } {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return { m, sd };
}

/**
 * Runs each `run.args` as a Node.js process, `jobs` at a time, printing `describe(run)` with 'done' or
 * 'FAILED (code)' and the time as each ends (and the last lines of a failed one's stderr).
 */
export async function runProcesses<R extends { args: string[] }>(
  runs: readonly R[],
  jobs: number,
  describe: (run: R) => string,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < runs.length) {
      const run = runs[next++];
      const started = Date.now();
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, run.args, { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d) => (err += String(d)));
        child.on('close', (c) => {
          if (c !== 0) console.error(err.split('\n').slice(-5).join('\n'));
          resolve(c ?? 1);
        });
      });
      console.log(
        `${code === 0 ? 'done' : `FAILED (${code})`}: ${describe(run)} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
}
