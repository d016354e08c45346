/**
 * The entry of a worker thread of data-parallel runs (train.ts). For each run it is sent, one after
 * another: it starts the backend, reads the learner and strategy back from their files, says it is
 * ready, and runs the same program as the thread that sent it, as one replica among them. Its results
 * are dropped: replica 0's learner is the one trained.
 */
import { parentPort } from 'node:worker_threads';
import { useBackend, type BackendName } from '../backend/select.js';
import { enableWasmTrainingKernels } from '../backend/wasm/index.js';
import { setNativeBlasThreads } from '../backend/wasm/native-blas.js';
import { decodeLearner } from '../persist/codec.js';
import { learnOn, trainOn } from '../train/loop.js';
import { failShared, sharedReplica } from './shared.js';
import type { Program, WorkerMessage } from './train.js';

const send = (message: WorkerMessage) => parentPort?.postMessage(message);
/** The run going on, until it ends. */
let current: Program | undefined;
// A thread that ends mid-run must not leave the others waiting for its gradients.
process.on('exit', () => {
  if (current) failShared(current.memory, current.index, 'the thread ended before the run did');
});

async function serve(program: Program): Promise<void> {
  const { id, memory, index, count } = program;
  current = program;
  try {
    await useBackend(program.backend as BackendName, null);
    if (program.backend === 'wasm') enableWasmTrainingKernels({ nativeBlas: program.nativeBlas });
    setNativeBlasThreads(1);
    const { learner, strategy } = await decodeLearner(program.folder, { checked: true });
    if (!strategy) throw new Error('the learner came without its strategy');
    send({ type: 'ready', id });
    const replica = sharedReplica(memory, index, count);
    try {
      const { run, options } = program;
      if (run.kind === 'train') await trainOn(replica, learner, run.scenario, strategy, options);
      else await learnOn(replica, learner, run.task, strategy, { ...options, oldData: run.oldData });
    } finally {
      learner.dispose();
      strategy.dispose?.();
    }
    send({ type: 'done', id });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    failShared(memory, index, message);
    send({ type: 'failed', id, message });
  } finally {
    current = undefined;
  }
}

// One run at a time: a run sent while the last one finishes waits for it.
let queue = Promise.resolve();
parentPort?.on('message', (program: Program) => {
  queue = queue.then(() => serve(program));
});
