/**
 * End to end against PyTorch: `unforget run --scenario split-mnist --setting task --strategy finetune
 * --epochs 4 --batch-size 128` (the built CLI, as a fresh install runs it) and the same protocol in
 * PyTorch (bench/torch_split_mnist.py, Debian's python3-torch), taking turns run by run, wall time of
 * each whole process (start-up, data, training, evaluation). Prints every run and the medians.
 *
 *   npm run build && node --import tsx bench/end-to-end.ts --runs 5
 *
 * Flags: --runs N (default 5), --torch-threads N (default 1), --torch-python PATH (default
 * /usr/bin/python3), --env 'K=V,K=V' (extra environment for unforget, e.g. UNFORGET_WORKERS=1).
 * Never run by the tests.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { arg } from './common.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}dist/src/cli/main.js`;
const torchScript = `${root}bench/torch_split_mnist.py`;
const runs = Number(arg('runs', '5'));
const torchThreads = arg('torch-threads', '1');
const python = arg('torch-python', '/usr/bin/python3');
const extraEnv = Object.fromEntries(
  arg('env', '')
    .split(',')
    .filter((kv) => kv.includes('='))
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);

if (!existsSync(cli)) {
  console.error(`no built CLI at ${cli}: run 'npm run build' first`);
  process.exit(1);
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv): { seconds: number; out: string } {
  const started = process.hrtime.bigint();
  const child = spawnSync(command, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (child.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${child.stderr}`);
  return { seconds, out: child.stdout };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const unforgetArgs = [cli, 'run', '--scenario', 'split-mnist', '--setting', 'task', '--strategy', 'finetune'];
unforgetArgs.push('--epochs', '4', '--batch-size', '128', '--no-progress', '--json');

const ours: number[] = [];
const theirs: number[] = [];
for (let i = 0; i < runs; i++) {
  const u = timed(process.execPath, [...unforgetArgs, '--seed', String(i)], { ...process.env, ...extraEnv });
  const result = JSON.parse(u.out) as { metrics: { averageAccuracy: number } };
  const t = timed(python, [torchScript, String(i), torchThreads], process.env);
  const torch = JSON.parse(t.out) as { acc: number; torch: string };
  ours.push(u.seconds);
  theirs.push(t.seconds);
  console.log(
    `run ${i + 1}: unforget ${u.seconds.toFixed(2)} s (ACC ${(100 * result.metrics.averageAccuracy).toFixed(1)}), ` +
      `PyTorch ${torch.torch} ${t.seconds.toFixed(2)} s (ACC ${(100 * torch.acc).toFixed(1)}), ` +
      `ratio ${(u.seconds / t.seconds).toFixed(2)}`,
  );
}
const ratios = ours.map((s, i) => s / theirs[i]);
console.log(
  `median of ${runs}: unforget ${median(ours).toFixed(2)} s, PyTorch (${torchThreads} thread) ` +
    `${median(theirs).toFixed(2)} s, ratio ${median(ratios).toFixed(2)}×`,
);
