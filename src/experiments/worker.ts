/**
 * The entry of a comparison's worker process: it runs the specs its parent sends, one at a time,
 * on its own TensorFlow.js backend, and reports progress and results back over the IPC channel.
 *
 * Training can keep this process's event loop busy from one step to the next (every await in the
 * step may resolve at once), so signals and IPC messages may wait until the run ends. A stop is
 * therefore also seen without the event loop: between steps the worker looks for the stop file its
 * parent writes, and notices when its parent is gone.
 */
import { existsSync } from 'node:fs';
import type { Progress } from '../train/loop.js';
import { executeRun, warmUp } from './execute.js';
import type { ParentMessage, WorkerMessage } from './pool.js';

let controller: AbortController | undefined;
const parent = process.ppid;

const send = (message: WorkerMessage) => {
  if (process.connected) process.send?.(message);
};

// Ctrl-C reaches the whole process group: stop the current run after its step, as the parent does.
process.on('SIGINT', () => controller?.abort());
process.on('disconnect', () => process.exit(0));

process.on('message', (message: ParentMessage) => {
  if (message.type === 'stop') {
    controller?.abort();
    return;
  }
  const run = new AbortController();
  controller = run;
  let sentAt = 0;
  let checkedAt = 0;
  const onProgress = (progress: Progress) => {
    const now = Date.now();
    if (now - checkedAt >= 100) {
      checkedAt = now;
      if (process.ppid !== parent || existsSync(message.stopFile)) run.abort();
    }
    if (now - sentAt < 100 && progress.step < progress.steps) return;
    sentAt = now;
    send({ type: 'progress', progress });
  };
  warmUp(message.spec)
    .then(() => executeRun(message.spec, { onProgress, signal: run.signal }))
    .then(
      (result) => {
        if (process.ppid !== parent) process.exit(0);
        send({ type: 'result', result });
      },
      (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error));
        send({ type: 'failed', name: e.name, message: e.message, stack: e.stack ?? '' });
      },
    );
});
