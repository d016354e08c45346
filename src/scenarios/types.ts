import type { Dataset } from '../data/dataset.js';

/**
 * The three continual-learning settings of van de Ven & Tolias (2019):
 * - `task`: task identity is given at test time; each task has its own head.
 * - `domain`: one shared head; every task has the same label space (e.g. "first or second class").
 * - `class`: one head over all classes seen so far; no task identity at test time.
 */
export type Setting = 'task' | 'domain' | 'class';
export const settings: readonly Setting[] = ['task', 'domain', 'class'];

/** What a task is without its data: its name and classes (label values, in the task's output order). */
export interface TaskLayout {
  readonly name: string;
  readonly classes: readonly number[];
  readonly classNames: readonly string[];
}

/** A named train/test pair. */
export interface Task extends TaskLayout {
  readonly train: Dataset;
  readonly test: Dataset;
}

/** What a scenario is without its data: enough to build heads and map labels, and to save with a model. */
export interface ScenarioLayout {
  readonly name: string;
  readonly setting: Setting;
  readonly tasks: readonly TaskLayout[];
  /** The shape of one example, e.g. [28, 28, 1]. */
  readonly inputShape: readonly number[];
}

/** A sequence of tasks learned one after another, in one setting. */
export interface Scenario extends ScenarioLayout {
  readonly tasks: readonly Task[];
}

/** The scenario without its data. */
export function layoutOf(scenario: ScenarioLayout): ScenarioLayout {
  return {
    name: scenario.name,
    setting: scenario.setting,
    inputShape: [...scenario.inputShape],
    tasks: scenario.tasks.map((t) => ({
      name: t.name,
      classes: [...t.classes],
      classNames: [...t.classNames],
    })),
  };
}

/** Where the label `label` of task `task` lands among the outputs of the scenario's head(s). */
export function targetIndex(scenario: ScenarioLayout, task: number, label: number): number {
  const local = scenario.tasks[task].classes.indexOf(label);
  return scenario.setting === 'class' ? classOffset(scenario, task) + local : local;
}

/** In the class-incremental setting, the first output that belongs to task `task`. */
export function classOffset(scenario: ScenarioLayout, task: number): number {
  let offset = 0;
  for (let t = 0; t < task; t++) offset += scenario.tasks[t].classes.length;
  return offset;
}

/**
 * How many outputs each head has: one head per task (task setting), one head as wide as the widest
 * task (domain setting), or one head over every class of every task (class setting).
 */
export function headSizes(scenario: ScenarioLayout): number[] {
  const sizes = scenario.tasks.map((t) => t.classes.length);
  if (scenario.setting === 'task') return sizes;
  if (scenario.setting === 'domain') return [Math.max(...sizes)];
  return [sizes.reduce((a, b) => a + b, 0)];
}

/** The outputs that are live when task `task` is trained or tested after `seen` tasks were learned. */
export function activeOutputs(scenario: ScenarioLayout, task: number, seen = task): number {
  if (scenario.setting === 'task') return scenario.tasks[task].classes.length;
  if (scenario.setting === 'domain') return headSizes(scenario)[0];
  const last = Math.max(task, seen);
  return classOffset(scenario, last) + scenario.tasks[last].classes.length;
}

/** Which head task `task` uses. */
export function headIndex(scenario: ScenarioLayout, task: number): number {
  return scenario.setting === 'task' ? task : 0;
}

/** The names of the outputs of head `head` (for printing predictions). */
export function outputNames(scenario: ScenarioLayout, head: number): string[] {
  if (scenario.setting === 'task') return [...scenario.tasks[head].classNames];
  if (scenario.setting === 'class') return scenario.tasks.flatMap((t) => t.classNames);
  return Array.from({ length: headSizes(scenario)[0] }, (_, i) =>
    scenario.tasks.map((t) => t.classNames[i] ?? '-').join('/'),
  );
}

/** Every task's labels turned into head targets, as one Int32Array per task and split. */
export function taskTargets(scenario: Scenario, task: number, split: 'train' | 'test'): Int32Array {
  const labels = scenario.tasks[task][split].labels;
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = targetIndex(scenario, task, labels[i]);
  return out;
}
