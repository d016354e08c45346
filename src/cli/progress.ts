import cliProgress from 'cli-progress';
import type { Progress } from '../train/loop.js';

/**
 * A progress bar on stderr showing the task, epoch, loss and speed. It draws only on a terminal, so
 * piped output and logs stay clean.
 */
export function progressBar(): { update(p: Progress): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format:
        'task {task}/{tasks} {phase} epoch {epoch}/{epochs} |{bar}| {percentage}% | loss {loss} | {speed} ex/s',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let key = '';
  return {
    update(p) {
      const payload = {
        task: p.task + 1,
        tasks: p.tasks,
        phase: p.phase,
        epoch: p.epoch + 1,
        epochs: p.epochs,
        loss: p.loss.toFixed(4),
        speed: p.examplesPerSecond,
      };
      const now = `${p.task}/${p.phase}`;
      if (now !== key) {
        if (key) bar.stop();
        bar.start(p.steps, p.step, payload);
        key = now;
      } else {
        bar.update(p.step, payload);
      }
    },
    stop() {
      if (key) bar.stop();
      key = '';
    },
  };
}
