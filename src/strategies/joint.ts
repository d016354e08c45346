import { stepOptions } from '../train/optimizers.js';
import type { StepOptions, Strategy, TaskContext } from '../train/strategy.js';
import { stepOptionList, type StrategyEntry } from './entry.js';

/**
 * Joint training: each task trains on the union of its data and every earlier task's. It needs the
 * old data, which a user often no longer has; it is the upper bound the other methods are measured
 * against. Each epoch passes over all tasks' data so far, so later tasks take longer.
 */
export function joint(options: StepOptions = {}): Strategy {
  return {
    name: 'joint',
    needsOldData: true,
    options: stepOptions(options),
    trainingTasks: ({ task }: TaskContext) => Array.from({ length: task + 1 }, (_, t) => t),
  };
}

export const jointEntry: StrategyEntry = {
  name: 'joint',
  summary: "train on all tasks' data so far (needs the old data; the upper bound)",
  needsOldData: true,
  options: stepOptionList,
  create: (o) => joint(o),
};
