import { Command } from 'commander';
import { wholeNumber } from './options.js';

interface WorkerFlags {
  queue: string;
  concurrency: number;
  lockSeconds: number;
}

export function workerCommand(): Command {
  const command = new Command('worker')
    .description(
      'take runs from the queue of `unforget compare --queue` (on this or any machine) until stopped; ' +
        'each run in a process of its own, its progress and result sent back through the queue',
    )
    .requiredOption('--queue <url>', 'the Redis server of the queue, redis://HOST:PORT')
    .option('--concurrency <n>', 'runs at once (about one per core)', wholeNumber(1), 1)
    .option(
      '--lock-seconds <n>',
      'how long the run of a worker that stopped answering stays taken before another worker redoes it',
      wholeNumber(1),
      30,
    );
  command.addHelpText(
    'after',
    [
      '',
      'Ctrl-C stops the current runs after their step and gives them back to the queue, for another worker.',
      '',
      'Examples:',
      '  redis-server --bind 0.0.0.0 --protected-mode no      on the machine that collects the results',
      '  unforget compare --queue redis://10.0.0.5:6379 --strategies ewc,lwf --seeds 3',
      '  unforget worker --queue redis://10.0.0.5:6379 --concurrency 4     on every machine that helps',
    ].join('\n'),
  );
  command.action(async (flags: WorkerFlags) => {
    const controller = new AbortController();
    const onSignal = () => {
      if (controller.signal.aborted) process.exit(130);
      console.error('unforget: stopping: the current runs go back to the queue (Ctrl-C again quits at once)');
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const { serveQueue } = await import('../experiments/queue.js'); // BullMQ loads only here
      await serveQueue(flags.queue, {
        concurrency: flags.concurrency,
        lockSeconds: flags.lockSeconds,
        signal: controller.signal,
        onEvent: (line) => console.error(`unforget: ${line}`),
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    // Done: a connection to a Redis that went away may still hold the event loop.
    process.exit(0);
  });
  return command;
}
