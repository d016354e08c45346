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
export {
  enableWasmTrainingKernels,
  disableWasmTrainingKernels,
  nativeBlasStatus,
  setNativeBlasThreads,
  type NativeBlasStatus,
} from './backend/wasm/index.js';

export type { Dataset, DataSplit } from './data/dataset.js';
export { validateDataset, subset, withClasses } from './data/dataset.js';
export { loadMnist } from './data/mnist.js';
export { loadIdxFolder, loadFashionMnist, readIdxFile, parseIdx } from './data/idx.js';
export { loadImageFolder, type ImageFolderOptions } from './data/images.js';
export { fitDataset, type FittedData } from './data/fit.js';
export { parseDataSpec, loadDataSpec, type DataSpec, type LoadedData } from './data/spec.js';

export { Learner, learner, widenHead, type LearnerOptions, type TaskRecord } from './model/learner.js';
export { exportTask } from './model/export.js';
export { buildBackbone, type BackboneSpec, type MlpSpec, type CnnSpec } from './model/backbones.js';
export { fromPretrained, type PretrainedOptions, type KeptHead } from './model/pretrained.js';
export { fileHandler, registerFileRouter } from './persist/io.js';
export { saveLearner, loadLearner, learnerFormatVersion, type LoadedLearner } from './persist/save.js';
export {
  maskedTwin,
  maskedLayers,
  isMasked,
  unmaskableLayers,
  type MaskedLayer,
  type KernelTransform,
  type UnmaskableLayer,
} from './model/masked.js';

export { train, learn, workerCount, closeWorkers } from './parallel/train.js';
export {
  partialResult,
  type TrainOptions,
  type Progress,
  type LearnOptions,
  type LearnResult,
  type NewTask,
  type OldTaskData,
} from './train/loop.js';
export type { RunResult, Workers } from './eval/result.js';
export type { Strategy, StepOptions, TaskContext, Batch, Phase, Replayed } from './train/strategy.js';

export {
  metrics,
  averageAccuracy,
  backwardTransfer,
  forwardTransfer,
  forgetting,
  type Metrics,
} from './eval/metrics.js';
export { taskAccuracy, accuracyRow, evaluate } from './eval/evaluate.js';
export { inferredAccuracy, type InferredAccuracy } from './eval/infer.js';
export { inferTask, taskInferences, type InferredTasks, type TaskInference } from './model/infer-task.js';

export {
  compare,
  runSpecs,
  type RunsOutcome,
  type RunsSteps,
  type CompareOptions,
  type CompareHooks,
  type ComparisonOutcome,
  type ComparisonFile,
  type RunOutcome,
} from './experiments/compare.js';
export { planRuns, defaultValidation, type ComparisonOptions, type RunSpec } from './experiments/plan.js';
export {
  parseGrid,
  gridPoints,
  formatOptionValue,
  describeGridPoint,
  type OptionGrid,
  type GridPoint,
  type OptionValue,
} from './experiments/grid.js';
export { chooseOnValidation, variantsOf, variantName, type Variant } from './experiments/choose.js';
export {
  readSavedRun,
  readRunRecords,
  saveRun,
  incompleteReason,
  type RunRecord,
  type SavedRun,
} from './experiments/store.js';
export { comparisonCsv } from './experiments/csv.js';
export { executeRun, warmUp } from './experiments/execute.js';
export {
  summarize,
  stat,
  type ComparisonSummary,
  type MethodSummary,
  type GridSummary,
  type SummarizeOptions,
  type Stat,
} from './report/summary.js';
export {
  comparisonTable,
  comparisonMarkdown,
  comparisonRows,
  comparisonSections,
  choiceNote,
  criteria,
  metricRows,
  type Criterion,
} from './report/table.js';
export { reportHtml, reportCharts, type ReportChart, type ReportOptions } from './report/html.js';
export { writeReport, readComparison } from './report/write.js';
export { htmlPage, type PageChart } from './report/html.js';
export { studyHtml, studyChartOption } from './report/study.js';
export {
  study,
  planStudy,
  analyseStudy,
  type StudyOptions,
  type StudyRun,
  type StudyOutcome,
  type StudyPlan,
  type StudyFile,
  type QuestionResult,
} from './experiments/study/study.js';
export {
  questions,
  questionNames,
  type QuestionName,
  type PartResult,
  type StudyEffect,
  type StudyPlot,
} from './experiments/study/questions.js';
export { meanInterval, pairedInterval, tQuantile975, type Interval } from './experiments/study/interval.js';
export { effectKind, effectSentence, type EffectKind } from './experiments/study/answers.js';

export * from './errors.js';
export { version } from './version.js';
