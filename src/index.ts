/**
 * unforget: teach one TensorFlow.js network many tasks without forgetting the old ones.
 *
 * ```ts
 * import { scenarios, learner, strategies, train, useBackend } from 'unforget';
 * await useBackend();
 * const s = await scenarios.splitMnist({ tasks: 5, setting: 'task', seed: 1 });
 * const l = learner({ backbone: { kind: 'mlp', hidden: [400, 400] }, scenario: s, seed: 1 });
 * const r = await train(l, s, strategies.finetune({ learningRate: 1e-3 }), { epochs: 4, batchSize: 128, seed: 1 });
 * r.accuracyMatrix; r.metrics?.averageAccuracy; r.metrics?.backwardTransfer;
 * ```
 */
export * as scenarios from './scenarios/index.js';
export * as strategies from './strategies/index.js';

export { useBackend, backendNames, type BackendName } from './backend/select.js';
export { enableWasmTrainingKernels } from './backend/wasm/index.js';

export type { Dataset, DataSplit } from './data/dataset.js';
export { validateDataset, subset, withClasses } from './data/dataset.js';
export { loadMnist } from './data/mnist.js';
export { loadIdxFolder, loadFashionMnist, readIdxFile, parseIdx } from './data/idx.js';
export { loadImageFolder, type ImageFolderOptions } from './data/images.js';

export { Learner, learner, type LearnerOptions } from './model/learner.js';
export { buildBackbone, type BackboneSpec, type MlpSpec, type CnnSpec } from './model/backbones.js';
export { fromPretrained, type PretrainedOptions } from './model/pretrained.js';
export { fileHandler, registerFileRouter } from './model/io.js';

export { train, type TrainOptions, type Progress } from './train/loop.js';
export type { RunResult } from './train/result.js';
export type { Strategy, StepOptions, TaskContext, Batch, Phase } from './train/strategy.js';

export {
  metrics,
  averageAccuracy,
  backwardTransfer,
  forwardTransfer,
  forgetting,
  type Metrics,
} from './eval/metrics.js';
export { taskAccuracy, accuracyRow } from './eval/evaluate.js';

export * from './errors.js';
export { version } from './version.js';
