import { OptionError } from '../errors.js';
import type { Strategy } from '../train/strategy.js';
import { featureExtraction } from './feature-extraction.js';
import { finetune, type FinetuneOptions } from './finetune.js';
import { joint } from './joint.js';
import { lwf, lwfDefaults, type LwfOptions, type LwfStrategy } from './lwf.js';
import {
  ewc,
  ewcDefaults,
  onlineEwc,
  type EwcOptions,
  type EwcStrategy,
  type OnlineEwcOptions,
} from './ewc.js';
import {
  diagonalFisher,
  fisherLabelChoices,
  fisherMethods,
  type FisherLabels,
  type FisherMethod,
  type FisherOptions,
  type FisherResult,
} from './fisher.js';
import { packnet, type PacknetOptions, type PacknetStrategy } from './packnet.js';
import { piggyback, type PiggybackOptions, type PiggybackStrategy } from './piggyback.js';

export { finetune, featureExtraction, joint, lwf, ewc, onlineEwc, diagonalFisher, packnet, piggyback };
export type {
  FinetuneOptions,
  LwfOptions,
  LwfStrategy,
  EwcOptions,
  OnlineEwcOptions,
  EwcStrategy,
  FisherLabels,
  FisherMethod,
  FisherOptions,
  FisherResult,
  PacknetOptions,
  PacknetStrategy,
  PiggybackOptions,
  PiggybackStrategy,
};

/** An option a strategy takes, described for the command line and the web page. */
export interface StrategyOption {
  name: string;
  kind: 'number' | 'integer' | 'choice';
  description: string;
  choices?: readonly string[];
}

/** A strategy the command line and web page can build by name. */
export interface StrategyEntry {
  name: string;
  summary: string;
  needsOldData: boolean;
  options: readonly StrategyOption[];
  create(options: Record<string, number | string>): Strategy;
}

const stepOptionList: StrategyOption[] = [
  { name: 'learningRate', kind: 'number', description: 'step size (default 1e-3)' },
  { name: 'optimizer', kind: 'choice', choices: ['adam', 'sgd'], description: 'adam or sgd (default adam)' },
  { name: 'momentum', kind: 'number', description: 'momentum for sgd (default 0)' },
];

const lambdaOption: StrategyOption = {
  name: 'lambda',
  kind: 'number',
  description:
    `weight of the old tasks' term (lwf: λo, default ${lwfDefaults.lambda}; ` +
    `ewc: λ, default ${ewcDefaults.lambda}; onlineEwc: λ, default ${ewcDefaults.onlineLambda})`,
};

const fisherOptionList: StrategyOption[] = [
  {
    name: 'fisherSamples',
    kind: 'integer',
    description: `training examples per task the Fisher is estimated on (default ${ewcDefaults.fisherSamples})`,
  },
  {
    name: 'fisherLabels',
    kind: 'choice',
    choices: fisherLabelChoices,
    description: 'sampled: labels drawn from the model (true Fisher, default); predicted: its argmax label',
  },
  {
    name: 'fisherMethod',
    kind: 'choice',
    choices: fisherMethods,
    description:
      'auto (default): vectorised per-example gradients for Dense trunks, else one sample at a time',
  },
];

/** Every strategy by name, in the order they are compared. */
export const registry: readonly StrategyEntry[] = [
  {
    name: 'finetune',
    summary: 'train the whole network on each new task',
    needsOldData: false,
    options: [
      ...stepOptionList,
      {
        name: 'freezeLayers',
        kind: 'integer',
        description: 'leading trunk layers to keep frozen (default 0)',
      },
    ],
    create: (o) => finetune(o as FinetuneOptions),
  },
  {
    name: 'featureExtraction',
    summary: 'freeze the trunk after the first task; train only new heads',
    needsOldData: false,
    options: stepOptionList,
    create: (o) => featureExtraction(o),
  },
  {
    name: 'joint',
    summary: "train on all tasks' data so far (needs the old data; the upper bound)",
    needsOldData: true,
    options: stepOptionList,
    create: (o) => joint(o),
  },
  {
    name: 'lwf',
    summary: 'Learning without Forgetting: distil the old heads’ answers on the new data',
    needsOldData: false,
    options: [
      ...stepOptionList,
      lambdaOption,
      {
        name: 'temperature',
        kind: 'number',
        description: `distillation temperature T (default ${lwfDefaults.temperature})`,
      },
      {
        name: 'warmupEpochs',
        kind: 'integer',
        description: `epochs training only the new head before the rest (default ${lwfDefaults.warmupEpochs})`,
      },
    ],
    create: (o) => lwf(o as LwfOptions),
  },
  {
    name: 'ewc',
    summary: 'Elastic Weight Consolidation: a Fisher-weighted pull towards each old task’s weights',
    needsOldData: false,
    options: [...stepOptionList, lambdaOption, ...fisherOptionList],
    create: (o) => ewc(o as EwcOptions),
  },
  {
    name: 'onlineEwc',
    summary: 'online EWC: one running Fisher (F ← γF + F_new), anchored at the latest weights',
    needsOldData: false,
    options: [
      ...stepOptionList,
      lambdaOption,
      {
        name: 'gamma',
        kind: 'number',
        description: `decay γ of the running Fisher (default ${ewcDefaults.gamma})`,
      },
      ...fisherOptionList,
    ],
    create: (o) => onlineEwc(o as OnlineEwcOptions),
  },
  {
    name: 'packnet',
    summary: 'PackNet: each task owns the weights it kept after pruning; old tasks stay exact (task setting)',
    needsOldData: false,
    options: [
      ...stepOptionList,
      {
        name: 'pruneRatio',
        kind: 'number',
        description: "fraction of a task's free weights released for later tasks (default 0.5)",
      },
      {
        name: 'retrainEpochs',
        kind: 'integer',
        description: 'epochs retraining the kept weights after pruning (default 1)',
      },
      {
        name: 'distillEpochs',
        kind: 'integer',
        description:
          "for an adopted model's own task (no data): epochs distilling its answers back after pruning it, on the new task's inputs (default 1)",
      },
    ],
    create: (o) => packnet(o as PacknetOptions),
  },
  {
    name: 'piggyback',
    summary: 'Piggyback: a frozen trunk and a learned binary weight mask per task (task setting)',
    needsOldData: false,
    options: [
      ...stepOptionList,
      {
        name: 'threshold',
        kind: 'number',
        description: 'mask scores above it keep their weight (default 5e-3)',
      },
      {
        name: 'maskInit',
        kind: 'number',
        description: 'starting value of every mask score (default 1e-2)',
      },
    ],
    create: (o) => piggyback(o as PiggybackOptions),
  },
];

/** Looks a strategy up by name; the error lists the names there are. */
export function strategyEntry(name: string): StrategyEntry {
  const entry = registry.find((e) => e.name.toLowerCase() === name.toLowerCase());
  if (!entry) {
    throw new OptionError(
      `unknown strategy '${name}'; use one of: ${registry.map((e) => e.name).join(', ')}`,
    );
  }
  return entry;
}
