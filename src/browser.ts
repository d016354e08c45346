/**
 * unforget for the browser: the parts of the public API that need no file system (no node:fs, no
 * `require`). Scenarios are built from data the page already has (`split`, `permuted`, `rotated`,
 * `transfer` take a DataSplit); the bundled MNIST comes from `unforget serve` as a binary file.
 * (`Learner.save`/`load` are Node only; the web page writes the same folder format itself.)
 *
 * ```ts
 * import { split, learner, registry, train, useBrowserBackend, decodeImageSplit } from 'unforget/browser';
 * await useBrowserBackend('auto', { wasmPath: '/wasm/' }); // where the .wasm files are served
 * const data = decodeImageSplit(await (await fetch('/data/mnist.bin')).arrayBuffer());
 * const s = split(data, { tasks: 5, setting: 'task' });
 * const l = learner({ backbone: { kind: 'mlp', hidden: [100] }, scenario: s, seed: 1 });
 * const r = await train(l, s, registry[0].create({}), { iterations: 50, onTaskEnd: console.log });
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { enableWasmTrainingKernels } from './backend/wasm/index.js';

export { split, type SplitOptions } from './scenarios/split.js';
export { scenarioCatalog, scenarioSummary, type ScenarioInfo } from './scenarios/catalog.js';
export { permuted, taskPermutations, type PermutedOptions } from './scenarios/permuted.js';
export { rotated, type RotatedOptions } from './scenarios/rotated.js';
export { transfer, type TransferOptions, type TransferPart } from './scenarios/transfer.js';
export { holdOutValidation, type ValidationSplit } from './scenarios/validation.js';
export {
  layoutOf,
  headIndex,
  headSizes,
  outputNames,
  settings,
  type Scenario,
  type ScenarioLayout,
  type Setting,
  type Task,
  type TaskLayout,
} from './scenarios/types.js';

export {
  registry,
  strategyEntry,
  parseOptionValue,
  flagOption,
  type StrategyEntry,
  type StrategyOption,
} from './strategies/index.js';

export type { Dataset, DataSplit } from './data/dataset.js';
export { imageSplitSeed, imageTestShare, rgbaToInput, splitPerClass, type Rgba } from './data/image-split.js';
export { validateDataset, subset, withClasses, exampleCount, exampleSize } from './data/dataset.js';

export { Learner, learner, type LearnerOptions, type TaskRecord } from './model/learner.js';
export { exportTask } from './model/export.js';
export { fromPretrained, type PretrainedOptions, type KeptHead } from './model/pretrained.js';
export { encodeLearner, decodeLearner, type Folder, type LoadedLearner } from './persist/codec.js';
export { buildBackbone, type BackboneSpec, type MlpSpec, type CnnSpec } from './model/backbones.js';

export {
  train,
  learn,
  partialResult,
  type TrainOptions,
  type Progress,
  type LearnOptions,
  type LearnResult,
  type NewTask,
  type OldTaskData,
} from './train/loop.js';
export { evaluate } from './eval/evaluate.js';
export { inferTask, type InferredTasks, type TaskInference } from './model/infer-task.js';
export type { RunResult } from './eval/result.js';
export type { Strategy } from './train/strategy.js';
export { metrics, type Metrics } from './eval/metrics.js';
export { enableWasmTrainingKernels };
export { seededRandom, type Random } from './random.js';
export * from './errors.js';
export { version } from './version.js';

/** The backends a page can ask for; 'auto' tries webgl, then wasm, then cpu. */
export type BrowserBackend = 'auto' | 'webgl' | 'wasm' | 'cpu';

export interface BrowserBackendOptions {
  /** Where the wasm backend's .wasm files are served (a folder URL ending in '/'). */
  wasmPath: string;
  /** Called with each backend that could not start and why. */
  onFallback?: (backend: string, reason: string) => void;
}

/** Whether the webgl backend runs real work here (not just a context that fails on the first kernel). */
async function webglWorks(): Promise<boolean> {
  try {
    const ok = await tf.setBackend('webgl');
    if (!ok) return false;
    await tf.ready();
    const y = tf.tidy(() => tf.matMul(tf.ones([4, 4]), tf.ones([4, 4])).sum());
    const v = (await y.data())[0];
    y.dispose();
    return v === 64;
  } catch {
    return false;
  }
}

/**
 * Picks and starts a TensorFlow.js backend in the browser: `webgl` when the GPU (or a software
 * renderer) runs it, else `wasm` with unforget's training kernels, else `cpu`. Returns the one in use.
 */
export async function useBrowserBackend(
  want: BrowserBackend,
  options: BrowserBackendOptions,
): Promise<'webgl' | 'wasm' | 'cpu'> {
  const order: ('webgl' | 'wasm' | 'cpu')[] = want === 'auto' ? ['webgl', 'wasm', 'cpu'] : [want, 'cpu'];
  for (const name of order) {
    if (name === 'webgl') {
      if (await webglWorks()) return 'webgl';
      options.onFallback?.('webgl', 'WebGL is not available in this browser');
      continue;
    }
    try {
      if (name === 'wasm') setWasmPaths(options.wasmPath);
      if (await tf.setBackend(name)) {
        await tf.ready();
        if (name === 'wasm') enableWasmTrainingKernels();
        return name;
      }
      options.onFallback?.(name, 'the backend did not start');
    } catch (error) {
      options.onFallback?.(name, error instanceof Error ? error.message : String(error));
    }
  }
  throw new Error('no TensorFlow.js backend could start in this browser');
}

export { decodeImageSplit } from './data/mnist-binary.js';
