/**
 * The entry of a comparison's worker process: it runs the specs its parent sends, one at a time,
 * on its own TensorFlow.js backend, and reports progress and results back over the IPC channel.
 */
import type { Progress } from '../train/loop.js';
import { executeRun } from './execute.js';
import type { ParentMessage, WorkerMessage } from './pool.js';

let controller: AbortController | undefined;

const send = (message: WorkerMessage) => process.send?.(message);

// Ctrl-C reaches the whole process group: stop the current run after its step, as the parent does.
process.on('SIGINT', () => controller?.abort());
process.on('disconnect', () => process.exit(0));

process.on('message', (message: ParentMessage) => {
  if (message.type === 'stop') {
    controller?.abort();
    return;
  }
  controller = new AbortController();
  let sentAt = 0;
  const onProgress = (progress: Progress) => {
    const now = Date.now();
    if (now - sentAt < 100 && progress.step < progress.steps) return;
    sentAt = now;
    send({ type: 'progress', progress });
  };
  executeRun(message.spec, { onProgress, signal: controller.signal }).then(
    (result) => send({ type: 'result', result }),
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      send({ type: 'failed', name: e.name, message: e.message, stack: e.stack ?? '' });
    },
  );
});

send({ type: 'ready' });
