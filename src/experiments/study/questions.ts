import type { RunRecord } from '../store.js';
import { maskAnswer, pickAnswer, pruneAnswer, releasedAnswer, type PruneLevel } from './answers.js';
import { meanInterval, pairedInterval, type Interval } from './interval.js';

/** The four questions of the study, by the name the command line takes. */
export const questionNames = ['released', 'pick', 'prune', 'mask'] as const;
export type QuestionName = (typeof questionNames)[number];

/** One arm of an experiment: a strategy with its options on a scenario, run once per seed. */
export interface Arm {
  key: string;
  label: string;
  scenario: string;
  tasks?: number;
  strategy: string;
  strategyOptions: Record<string, number | string>;
}

/** One experiment of a question (a scenario or a direction), its arms compared seed by seed. */
export interface Part {
  label: string;
  arms: Arm[];
}

/** A plot of the study, as plain numbers (fractions); the report draws it. */
export interface StudyPlot {
  title: string;
  kind: 'line' | 'bar';
  x: { name: string; categories: string[] };
  y: { name: string };
  /** Per series, one mean with its 95% interval over seeds per category. */
  series: { name: string; values: Interval[] }[];
}

/** An effect: the paired difference of two arms, over seeds, with its per-seed values. */
export interface StudyEffect extends Interval {
  label: string;
  /** The per-seed differences the interval is computed from. */
  values: number[];
}

/** What a part of a question measured: its plots, effects and the answer written from them. */
export interface PartResult {
  label: string;
  seeds: number[];
  plots: StudyPlot[];
  effects: StudyEffect[];
  answer: string;
}

/** What the study knows when it plans and analyses. */
export interface StudyContext {
  seeds: readonly number[];
  /** Fashion-MNIST is installed (and wanted). */
  fashion: boolean;
  /** Fractions pruned, for the prune question. */
  ratios: readonly number[];
}

export interface Question {
  name: QuestionName;
  /** The seed text's question, in a sentence. */
  asks: string;
  /** Strategy options the question varies: without them in the registry, it cannot run. */
  needs: { strategy: string; option: string }[];
  setup(ctx: StudyContext): string;
  parts(ctx: StudyContext): Part[];
  /** `runs[arm.key]`: the arm's records, one per seed, the same seeds for every arm. */
  analyse(part: Part, runs: Record<string, RunRecord[]>): Omit<PartResult, 'label' | 'seeds'>;
}

const acc = (r: RunRecord) => r.result.metrics?.averageAccuracy ?? NaN;
const matrix = (r: RunRecord) => r.result.accuracyMatrix;
const lastRow = (r: RunRecord) => matrix(r)[matrix(r).length - 1];
/** ACC after k + 1 tasks: the mean accuracy over the tasks learned so far. */
function accAfter(r: RunRecord, k: number): number {
  const row = matrix(r)[k];
  return row.slice(0, k + 1).reduce((a, b) => a + b, 0) / (k + 1);
}

function effect(label: string, after: number[], before: number[]): StudyEffect {
  return { label, ...pairedInterval(after, before), values: after.map((a, i) => a - before[i]) };
}

const taskLabels = (T: number) => Array.from({ length: T }, (_, j) => `T${j + 1}`);

function packnetParts(ctx: StudyContext, arms: (scenario: string) => Arm[]): Part[] {
  const scenarios = [
    ['split-mnist', 'split MNIST'],
    ...(ctx.fashion ? [['split-fashion', 'split Fashion-MNIST']] : []),
  ];
  return scenarios.map(([scenario, label]) => ({ label, arms: arms(scenario) }));
}

const released: Question = {
  name: 'released',
  asks: 'PackNet sets the weights it releases to zero before the next task: why not keep the little they had learned?',
  needs: [{ strategy: 'packnet', option: 'released' }],
  setup: (ctx) =>
    `PackNet learns the 5 tasks of split MNIST${ctx.fashion ? ' and of split Fashion-MNIST' : ''} in the task setting, once with the weights each task releases set to zero (the paper) and once with them kept at their trained values, on the same ${ctx.seeds.length} seeds. ` +
    'The plot shows each task’s accuracy after the last task; the effect is keep − zero on the mean accuracy (ACC), paired by seed.',
  parts: (ctx) =>
    packnetParts(ctx, (scenario): Arm[] => [
      { key: 'zero', label: 'zero (the paper)', scenario, strategy: 'packnet', strategyOptions: {} },
      { key: 'keep', label: 'keep', scenario, strategy: 'packnet', strategyOptions: { released: 'keep' } },
    ]),
  analyse(part, runs) {
    const [zero, keep] = [runs.zero, runs.keep];
    const T = matrix(zero[0]).length;
    const perTask = (rs: RunRecord[]) =>
      [...Array(T).keys()]
        .map((j) => meanInterval(rs.map((r) => lastRow(r)[j])))
        .concat(meanInterval(rs.map(acc)));
    const e = effect('keep − zero, mean accuracy (ACC)', keep.map(acc), zero.map(acc));
    return {
      plots: [
        {
          title: `${part.label}: each task’s accuracy after the last task`,
          kind: 'bar',
          x: { name: 'task', categories: [...taskLabels(T), 'mean'] },
          y: { name: 'accuracy (%)' },
          series: [
            { name: 'zero (the paper)', values: perTask(zero) },
            { name: 'keep', values: perTask(keep) },
          ],
        },
      ],
      effects: [e],
      answer: releasedAnswer({
        scenario: part.label,
        tasks: T,
        zero: meanInterval(zero.map(acc)),
        keep: meanInterval(keep.map(acc)),
        effect: e,
      }),
    };
  },
};

const pick: Question = {
  name: 'pick',
  asks: 'Why may a new task not use only some of the weights earlier tasks kept, instead of all of them?',
  needs: [{ strategy: 'packnet', option: 'pick' }],
  setup: (ctx) =>
    `PackNet learns the 5 tasks of split MNIST${ctx.fashion ? ' and of split Fashion-MNIST' : ''} in the task setting, once with every new task using all the weights earlier tasks kept (the paper) and once picking among them with a learned binary mask, on the same ${ctx.seeds.length} seeds. ` +
    'The plots show the mean accuracy over the tasks learned so far after each task, and each task’s accuracy at the end; the effect is pick − all on the final mean accuracy, paired by seed.',
  parts: (ctx) =>
    packnetParts(ctx, (scenario): Arm[] => [
      { key: 'all', label: 'all (the paper)', scenario, strategy: 'packnet', strategyOptions: {} },
      { key: 'pick', label: 'pick', scenario, strategy: 'packnet', strategyOptions: { pick: 1 } },
    ]),
  analyse(part, runs) {
    const [all, picked] = [runs.all, runs.pick];
    const T = matrix(all[0]).length;
    const steps = [...Array(T).keys()];
    const curve = (rs: RunRecord[]) => steps.map((k) => meanInterval(rs.map((r) => accAfter(r, k))));
    const final = (rs: RunRecord[]) => steps.map((j) => meanInterval(rs.map((r) => lastRow(r)[j])));
    const effects = steps.map((k) =>
      effect(
        `pick − all, mean accuracy after ${k + 1} task${k === 0 ? '' : 's'}`,
        picked.map((r) => accAfter(r, k)),
        all.map((r) => accAfter(r, k)),
      ),
    );
    return {
      plots: [
        {
          title: `${part.label}: mean accuracy as tasks are added`,
          kind: 'line',
          x: { name: 'tasks learned', categories: taskLabels(T).map((t) => `after ${t}`) },
          y: { name: 'ACC so far (%)' },
          series: [
            { name: 'all (the paper)', values: curve(all) },
            { name: 'pick', values: curve(picked) },
          ],
        },
        {
          title: `${part.label}: each task’s accuracy after the last task`,
          kind: 'bar',
          x: { name: 'task', categories: taskLabels(T) },
          y: { name: 'accuracy (%)' },
          series: [
            { name: 'all (the paper)', values: final(all) },
            { name: 'pick', values: final(picked) },
          ],
        },
      ],
      // The final effect first: it is the one the answer and the table lead with.
      effects: [effects[T - 1], ...effects.slice(0, T - 1)],
      answer: pickAnswer({ scenario: part.label, withoutPick: curve(all), withPick: curve(picked), effects }),
    };
  },
};

const ratioKey = (r: number, retrain: boolean) => `${retrain ? 'retrain' : 'noretrain'}-${r}`;

const prune: Question = {
  name: 'prune',
  asks: 'The PackNet paper claims that removing most of a network’s weights (up to 95%) keeps or even raises its quality: does it?',
  needs: [],
  setup: (ctx) =>
    `A network learns one 10-class task (MNIST, the first task of permuted MNIST) and PackNet then prunes the given fraction of its weights by magnitude, with one epoch of retraining the rest and without, against the same network unpruned (fine-tuning alone), on the same ${ctx.seeds.length} seeds. ` +
    'The plot shows the task’s accuracy against the fraction pruned; the effects are pruned − unpruned at each fraction, paired by seed (the retrained network has had one epoch of training more than the unpruned one, as in the paper).',
  parts: (ctx) => [
    {
      label: 'MNIST (one 10-class task)',
      arms: [
        {
          key: 'unpruned',
          label: 'unpruned',
          scenario: 'permuted-mnist',
          tasks: 1,
          strategy: 'finetune',
          strategyOptions: {},
        },
        ...ctx.ratios.flatMap((r) =>
          [true, false].map((retrain): Arm => ({
            key: ratioKey(r, retrain),
            label: `${Math.round(r * 1000) / 10}% pruned, ${retrain ? 'retrained' : 'not retrained'}`,
            scenario: 'permuted-mnist',
            tasks: 1,
            strategy: 'packnet',
            strategyOptions: { pruneRatio: r, retrainEpochs: retrain ? 1 : 0 },
          })),
        ),
      ],
    },
  ],
  analyse(part, runs) {
    const first = (r: RunRecord) => lastRow(r)[0];
    const base = runs.unpruned.map(first);
    const ratios = part.arms
      .filter((a) => a.key.startsWith('retrain-'))
      .map((a) => Number(a.strategyOptions.pruneRatio));
    const pctLabel = (r: number) => `${Math.round(r * 1000) / 10}%`;
    const effects: StudyEffect[] = [];
    const levels = ratios.map((ratio): PruneLevel => {
      const withRetrain = runs[ratioKey(ratio, true)].map(first);
      const without = runs[ratioKey(ratio, false)].map(first);
      const retrainedEffect = effect(`${pctLabel(ratio)} pruned and retrained − unpruned`, withRetrain, base);
      const notRetrainedEffect = effect(`${pctLabel(ratio)} pruned, not retrained − unpruned`, without, base);
      effects.push(retrainedEffect, notRetrainedEffect);
      return {
        ratio,
        retrained: meanInterval(withRetrain),
        notRetrained: meanInterval(without),
        retrainedEffect,
        notRetrainedEffect,
        retrainGain: effect('retrained − not retrained', withRetrain, without),
      };
    });
    const unpruned = meanInterval(base);
    return {
      plots: [
        {
          title: `${part.label}: accuracy against the fraction pruned`,
          kind: 'line',
          x: { name: 'fraction of weights pruned', categories: ['0%', ...ratios.map(pctLabel)] },
          y: { name: 'accuracy (%)' },
          series: [
            { name: 'retrained', values: [unpruned, ...levels.map((l) => l.retrained)] },
            { name: 'not retrained', values: [unpruned, ...levels.map((l) => l.notRetrained)] },
          ],
        },
      ],
      effects,
      answer: pruneAnswer({ scenario: part.label, unpruned, levels }),
    };
  },
};

const mask: Question = {
  name: 'mask',
  asks: 'Piggyback claims that only choosing weights (a binary mask over a frozen network) beats training the whole network: does it?',
  needs: [],
  setup: (ctx) =>
    `A network learns an old task, then a new one from that trunk in three ways: a learned binary mask over the frozen trunk and a new head (Piggyback), fine-tuning every weight, or a new head on frozen features; ${ctx.fashion ? 'MNIST → Fashion-MNIST and Fashion-MNIST → MNIST' : 'digits 0–4 → digits 5–9 (without Fashion-MNIST)'}, on the same ${ctx.seeds.length} seeds. ` +
    'The plot shows the accuracy on the new and on the old task at the end; the effects are mask − fine-tuning and mask − feature extraction on the new task, paired by seed.',
  parts(ctx) {
    const directions = ctx.fashion
      ? [
          ['mnist-to-fashion', 'MNIST → Fashion-MNIST', 'MNIST', 'Fashion-MNIST'],
          ['fashion-to-mnist', 'Fashion-MNIST → MNIST', 'Fashion-MNIST', 'MNIST'],
        ]
      : [['mnist-transfer', 'digits 0–4 → digits 5–9', 'digits 0–4', 'digits 5–9']];
    return directions.map(([scenario, label]) => ({
      label,
      arms: [
        { key: 'mask', label: 'mask (Piggyback)', scenario, strategy: 'piggyback', strategyOptions: {} },
        { key: 'finetune', label: 'fine-tuning', scenario, strategy: 'finetune', strategyOptions: {} },
        {
          key: 'features',
          label: 'feature extraction',
          scenario,
          strategy: 'featureExtraction',
          strategyOptions: {},
        },
      ],
    }));
  },
  analyse(part, runs) {
    const newTask = (r: RunRecord) => lastRow(r)[1];
    const oldTask = (r: RunRecord) => lastRow(r)[0];
    const [from, to] = part.label.split(' → ');
    const bars = (rs: RunRecord[]) => [meanInterval(rs.map(newTask)), meanInterval(rs.map(oldTask))];
    const vsFinetune = effect(
      'mask − fine-tuning, new task',
      runs.mask.map(newTask),
      runs.finetune.map(newTask),
    );
    const vsFeatures = effect(
      'mask − feature extraction, new task',
      runs.mask.map(newTask),
      runs.features.map(newTask),
    );
    return {
      plots: [
        {
          title: `${part.label}: accuracy at the end`,
          kind: 'bar',
          x: { name: 'task', categories: [`new: ${to}`, `old: ${from}`] },
          y: { name: 'accuracy (%)' },
          series: [
            { name: 'mask (Piggyback)', values: bars(runs.mask) },
            { name: 'fine-tuning', values: bars(runs.finetune) },
            { name: 'feature extraction', values: bars(runs.features) },
          ],
        },
      ],
      effects: [vsFinetune, vsFeatures],
      answer: maskAnswer({
        from,
        to,
        mask: meanInterval(runs.mask.map(newTask)),
        finetune: meanInterval(runs.finetune.map(newTask)),
        features: meanInterval(runs.features.map(newTask)),
        vsFinetune,
        vsFeatures,
        oldWithMask: meanInterval(runs.mask.map(oldTask)),
        oldWithFinetune: meanInterval(runs.finetune.map(oldTask)),
      }),
    };
  },
};

/** The questions, in the order the study asks them. */
export const questions: readonly Question[] = [released, pick, prune, mask];
