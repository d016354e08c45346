import { stepOptions } from '../train/optimizers.js';
import type { StepOptions, Strategy, TaskContext } from '../train/strategy.js';
import { stepOptionList, type StrategyEntry } from './entry.js';

/**
 * Feature extraction: the trunk is trained on the first task only (or not at all when it came
 * pretrained) and then frozen; every later task trains only its head. Old tasks keep their heads and
 * the features they were trained on, so in the task setting nothing is forgotten; the price is that
 * new tasks must make do with old features.
 */
export function featureExtraction(options: StepOptions = {}): Strategy {
  return {
    name: 'featureExtraction',
    needsOldData: false,
    options: stepOptions(options),
    prepareTask({ learner, task }: TaskContext) {
      const trainTrunk = task === 0 && !learner.pretrained;
      for (const layer of learner.trunk.layers) layer.trainable = trainTrunk;
    },
  };
}

export const featureExtractionEntry: StrategyEntry = {
  name: 'featureExtraction',
  summary: 'freeze the trunk after the first task; train only new heads',
  needsOldData: false,
  options: stepOptionList,
  create: (o) => featureExtraction(o),
};
