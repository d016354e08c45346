import { OptionError } from '../errors.js';
import { stepOptions } from '../train/optimizers.js';
import type { StepOptions, Strategy, TaskContext } from '../train/strategy.js';
import { stepOptionList, type StrategyEntry } from './entry.js';

export interface FinetuneOptions extends StepOptions {
  /** How many leading trunk layers with weights stay as they are. Default 0: train everything. */
  freezeLayers?: number;
}

/**
 * Fine-tuning: every task trains the whole network (but for `freezeLayers` leading layers) on its own
 * data, usually at a low learning rate. Nothing protects the old tasks: this is the baseline that
 * forgets.
 */
export function finetune(options: FinetuneOptions = {}): Strategy {
  const freezeLayers = options.freezeLayers ?? 0;
  if (!Number.isInteger(freezeLayers) || freezeLayers < 0) {
    throw new OptionError(`freezeLayers must be a whole number ≥ 0; got ${freezeLayers}`);
  }
  return {
    name: 'finetune',
    needsOldData: false,
    options: { ...stepOptions(options), freezeLayers },
    prepareTask({ learner }: TaskContext) {
      const weighted = learner.trunk.layers.filter((layer) => layer.weights.length > 0);
      if (freezeLayers > weighted.length) {
        throw new OptionError(
          `freezeLayers is ${freezeLayers} but the trunk has only ${weighted.length} layers with weights ` +
            `(${weighted.map((l) => l.name).join(', ')}); use at most ${weighted.length}`,
        );
      }
      weighted.forEach((layer, i) => (layer.trainable = i >= freezeLayers));
    },
  };
}

export const finetuneEntry: StrategyEntry = {
  name: 'finetune',
  summary: 'train the whole network on each new task',
  needsOldData: false,
  options: [
    ...stepOptionList,
    { name: 'freezeLayers', kind: 'integer', description: 'leading trunk layers to keep frozen (default 0)' },
  ],
  create: (o) => finetune(o as FinetuneOptions),
};
