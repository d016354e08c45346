import { useBackend } from '../backend/select.js';
import { exampleCount } from '../data/dataset.js';
import { accuracyRow } from '../eval/evaluate.js';
import { averageAccuracy } from '../eval/metrics.js';
import { learner } from '../model/learner.js';
import { namedScenario } from '../scenarios/named.js';
import type { Scenario } from '../scenarios/types.js';
import { holdOutValidation, type ValidationSplit } from '../scenarios/validation.js';
import { strategyEntry } from '../strategies/index.js';
import { train, type Progress } from '../train/loop.js';
import type { RunResult } from '../eval/result.js';
import { canonicalJson, type RunSpec } from './plan.js';

let lastScenario: { key: string; scenario: Scenario } | undefined;
let lastSplit: { key: string; split: ValidationSplit } | undefined;

/** Builds the run's scenario, reusing the previous one when a worker runs several runs of one comparison. */
async function scenarioFor(spec: RunSpec): Promise<Scenario> {
  const options = {
    setting: spec.setting,
    tasks: spec.tasks ?? undefined,
    seed: spec.seed,
    data: spec.data ?? undefined,
  };
  const key = canonicalJson([spec.scenario, options]);
  if (lastScenario?.key !== key) {
    lastScenario = { key, scenario: await namedScenario(spec.scenario).build(options) };
  }
  return lastScenario.scenario;
}

/** The run's scenario split into training and validation parts (reused like the scenario). */
async function splitFor(spec: RunSpec, fraction: number): Promise<ValidationSplit> {
  const scenario = await scenarioFor(spec);
  const key = `${lastScenario?.key ?? ''} ${fraction}`;
  if (lastSplit?.key !== key) lastSplit = { key, split: holdOutValidation(scenario, fraction, spec.seed) };
  return lastSplit.split;
}

/**
 * Runs one planned run in this thread: starts the spec's backend, builds the scenario, a fresh
 * learner and the strategy from the registry, trains, and frees every tensor it made. With a
 * `validation` share, the run trains on the rest of each task's training data and also tests on the
 * held-out part after each task (`RunResult.validation`).
 */
export async function executeRun(
  spec: RunSpec,
  options: { onProgress?: (p: Progress) => void; signal?: AbortSignal } = {},
): Promise<RunResult> {
  await useBackend(spec.backend, null);
  const entry = strategyEntry(spec.strategy);
  const fraction = spec.validation ?? null;
  const split = fraction === null ? null : await splitFor(spec, fraction);
  const scenario = split?.training ?? (await scenarioFor(spec));
  const strategy = entry.create(spec.strategyOptions);
  const model = learner({ backbone: spec.backbone, scenario, seed: spec.seed });
  const validationRows: number[][] = [];
  try {
    const result = await train(model, scenario, strategy, {
      epochs: spec.epochs ?? undefined,
      iterations: spec.iterations ?? undefined,
      batchSize: spec.batchSize,
      seed: spec.seed,
      onProgress: options.onProgress,
      signal: options.signal,
      inferTask: spec.inferTask ?? undefined,
      inferBatch: spec.inferBatch ?? undefined,
      onTaskEnd: split
        ? (task) => validationRows.push(accuracyRow(model, split.validation, task))
        : undefined,
    });
    if (!split || fraction === null) return result;
    return {
      ...result,
      validation: {
        fraction,
        examples: split.validation.tasks.map((t) => exampleCount(t.test)),
        accuracyMatrix: validationRows,
        averageAccuracy: result.metrics ? averageAccuracy(validationRows) : null,
      },
    };
  } finally {
    model.dispose();
    strategy.dispose?.();
  }
}

let warmedUp = false;

/**
 * A fresh process pays once for starting the backend and for the first use of each kernel, about
 * as long as a few hundred training steps; the first run would carry that cost in its training and
 * test times. This trains a throwaway learner of the spec's network and scenario for two steps
 * (plain fine-tuning), once per process, so every measured run starts warm.
 */
export async function warmUp(spec: RunSpec): Promise<void> {
  if (warmedUp) return;
  await executeRun({
    ...spec,
    strategy: 'finetune',
    strategyOptions: {},
    epochs: null,
    iterations: 2,
    inferTask: null,
  });
  warmedUp = true;
}
