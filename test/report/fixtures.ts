import type { RunSpec } from '../../src/experiments/plan.js';
import type { RunRecord } from '../../src/experiments/store.js';
import { metrics } from '../../src/eval/metrics.js';

/** A finished run record with a made-up accuracy matrix, for tests that need no training. */
export function fakeRecord(
  strategy: string,
  seed: number,
  R: number[][],
  cost: Partial<RunRecord['result']['cost']> = {},
): RunRecord {
  const spec: RunSpec = {
    id: `${strategy}-seed${seed}`,
    scenario: 'mnist-transfer',
    setting: 'task',
    tasks: null,
    data: null,
    strategy,
    strategyOptions: {},
    seed,
    backbone: { kind: 'mlp', hidden: [400, 400] },
    epochs: 2,
    iterations: null,
    batchSize: 128,
    backend: 'auto',
  };
  const initialAccuracy = R.map(() => 0.2);
  return {
    format: 'unforget-run',
    formatVersion: 1,
    spec,
    result: {
      scenario: 'mnist-transfer',
      setting: 'task',
      strategy,
      strategyOptions: { learningRate: 0.001 },
      training: { epochs: 2, iterations: null, batchSize: 128, seed },
      backend: 'cpu',
      versions: { unforget: '0.1.0', tfjs: '4.22.0' },
      taskNames: R.map((_, j) => `task ${j + 1}`),
      accuracyMatrix: R,
      initialAccuracy,
      metrics: metrics(R, initialAccuracy),
      cost: {
        trainMs: R.map(() => 1000),
        msPerStep: 10,
        testMsPerExample: 0.02,
        parameters: 1000,
        strategyBytes: 0,
        needsOldData: false,
        ...cost,
      },
      stopped: false,
    },
    host: { node: 'v20', platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'test' },
    finishedAt: '2026-01-01T00:00:00.000Z',
  };
}
