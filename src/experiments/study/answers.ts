import type { Interval } from './interval.js';

/**
 * The answers of the study, written from its numbers: pure functions from figures to text, so the text
 * changes when the numbers do. Accuracies and effects are fractions (0.012 is 1.2 points).
 */

/** What an effect says: a change the interval is sure of (up or down), none we can tell, or one seed only. */
export type EffectKind = 'up' | 'down' | 'unclear' | 'single';

/**
 * Up when the whole 95% interval lies above zero, down when below, unclear when it holds zero, or when
 * the effect rounds to 0.0 points (a narrow interval beside zero is no difference worth a sentence).
 */
export function effectKind(e: Interval): EffectKind {
  if (e.low === null || e.high === null) return 'single';
  if (Math.abs(e.mean) < 0.0005) return 'unclear';
  if (e.low > 0) return 'up';
  if (e.high < 0) return 'down';
  return 'unclear';
}

/**
 * An effect the interval cannot tell from zero although its mean is a point or more: too few seeds
 * (or too noisy runs) to say, which is not the same as no difference.
 */
export function tooWideToTell(e: Interval): boolean {
  return effectKind(e) === 'unclear' && Math.abs(e.mean) >= 0.01;
}

/** The verdict for an effect the interval cannot tell from zero: too wide to tell, or none at all. */
function unclearVerdict(e: Interval, none: string): string {
  return tooWideToTell(e)
    ? `So the mean moved by ${points(e.mean)} points but the interval is too wide to tell with ${seeds(e.n)}; run more seeds.`
    : none;
}

/** A difference in points, signed with a true minus: 0.012 → '1.2', -0.001 → '−0.1'. */
export function points(v: number): string {
  const text = (100 * v).toFixed(1);
  return text === '-0.0' ? '0.0' : text.replace('-', '−');
}

/** An accuracy in percent: 0.9712 → '97.1%'. */
export const percent = (v: number): string => `${points(v)}%`;

const seeds = (n: number) => `${n} seed${n === 1 ? '' : 's'}`;

/** '(95% interval 0.2 to 1.4, 5 seeds)', or '(one seed, no interval)'. */
export function intervalText(e: Interval): string {
  if (e.low === null || e.high === null) return '(one seed, so no interval)';
  return `(95% interval ${points(e.low)} to ${points(e.high)}, ${seeds(e.n)})`;
}

/**
 * One sentence on the effect of `change` on `measure`, its verb chosen by the interval:
 * "keeping X raised mean accuracy by 0.8 points (95% interval 0.2 to 1.4, 5 seeds)" or
 * "keeping X made no difference we can tell to mean accuracy: −0.1 points (95% interval −0.6 to 0.4, 5 seeds)".
 */
export function effectSentence(change: string, measure: string, e: Interval): string {
  switch (effectKind(e)) {
    case 'up':
      return `${change} raised ${measure} by ${points(e.mean)} points ${intervalText(e)}`;
    case 'down':
      return `${change} lowered ${measure} by ${points(-e.mean)} points ${intervalText(e)}`;
    case 'unclear':
      return `${change} made no difference we can tell to ${measure}: ${points(e.mean)} points ${intervalText(e)}`;
    case 'single':
      return `${change} changed ${measure} by ${points(e.mean)} points on the one seed run ${intervalText(e)}`;
  }
}

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** Question 1's figures: PackNet's released weights set to zero or kept, mean accuracy (ACC) of each. */
export interface ReleasedFigures {
  scenario: string;
  tasks: number;
  zero: Interval;
  keep: Interval;
  /** keep − zero, paired by seed. */
  effect: Interval;
}

export function releasedAnswer(f: ReleasedFigures): string {
  const first = effectSentence(
    'keeping the weights each task released at their trained values, instead of setting them to zero,',
    `the mean accuracy over the ${f.tasks} tasks of ${f.scenario}`,
    f.effect,
  );
  const means = `zero gave ${percent(f.zero.mean)}, keep ${percent(f.keep.mean)}`;
  const verdict = {
    up: 'So what the released weights had learned is worth keeping: the next task starts from it rather than from nothing.',
    down: "So setting them to zero, as the paper does, is the better start: the old values get in the new task's way more than they help it.",
    unclear: unclearVerdict(
      f.effect,
      'So at this budget it does not matter where released weights start: zeroing them, as the paper does, costs nothing, and neither does keeping them.',
    ),
    single: 'One seed cannot tell a real difference from noise; run more seeds.',
  }[effectKind(f.effect)];
  return `${sentence(first)}; ${means}. ${verdict}`;
}

/** Question 2's figures: PackNet with and without picking, ACC after each task (both, and pick − no pick). */
export interface PickFigures {
  scenario: string;
  /** ACC after 1, 2, …, T tasks, of each. */
  withoutPick: Interval[];
  withPick: Interval[];
  /** pick − no pick after 1, 2, …, T tasks, paired by seed. */
  effects: Interval[];
}

export function pickAnswer(f: PickFigures): string {
  const T = f.effects.length;
  const last = f.effects[T - 1];
  const first = effectSentence(
    "letting each new task pick which of the earlier tasks' weights it uses, instead of using all of them,",
    `the mean accuracy over the ${T} tasks of ${f.scenario}`,
    last,
  );
  const means = `all gave ${percent(f.withoutPick[T - 1].mean)}, picked ${percent(f.withPick[T - 1].mean)}`;
  let trend = '';
  if (T > 2) {
    const early = f.effects[1].mean;
    const change = Math.abs(last.mean) - Math.abs(early);
    const how = change > 0.002 ? 'grew' : change < -0.002 ? 'shrank' : 'stayed about the same';
    trend = ` The gap ${how} as tasks were added: ${points(early)} points after 2 tasks, ${points(last.mean)} after ${T}.`;
  }
  const verdict = {
    up: 'Choosing among the old weights helps, as CPG and WSN argue.',
    down: 'Using all of them, as PackNet does, was the better choice here.',
    unclear: unclearVerdict(
      last,
      'Using all of them, as PackNet does, loses nothing we can measure at this size.',
    ),
    single: 'One seed cannot tell a real difference from noise; run more seeds.',
  }[effectKind(last)];
  return `${sentence(first)}; ${means}.${trend} ${verdict}`;
}

/** Question 3's figures at one fraction pruned. */
export interface PruneLevel {
  ratio: number;
  retrained: Interval;
  notRetrained: Interval;
  /** retrained − unpruned and not retrained − unpruned, paired by seed. */
  retrainedEffect: Interval;
  notRetrainedEffect: Interval;
  /** retrained − not retrained. */
  retrainGain: Interval;
}

export interface PruneFigures {
  scenario: string;
  unpruned: Interval;
  /** In increasing ratio. */
  levels: PruneLevel[];
}

const share = (ratio: number) => `${Math.round(ratio * 1000) / 10}%`;

export function pruneAnswer(f: PruneFigures): string {
  const parts = [`The unpruned network reached ${percent(f.unpruned.mean)} on ${f.scenario}.`];
  // The fractions up to which retrained pruning did not lower accuracy (every smaller one too).
  let kept = -1;
  while (kept + 1 < f.levels.length && effectKind(f.levels[kept + 1].retrainedEffect) !== 'down') kept++;
  if (kept >= 0) {
    const l = f.levels[kept];
    const at = share(l.ratio);
    parts.push(
      `With retraining, pruning up to ${at} of the weights did not lower accuracy` +
        (effectKind(l.retrainedEffect) === 'up'
          ? `: at ${at} it was even ${points(l.retrainedEffect.mean)} points higher ${intervalText(l.retrainedEffect)}.`
          : ` (at ${at}: ${points(l.retrainedEffect.mean)} points ${intervalText(l.retrainedEffect)}).`),
    );
    const up = f.levels.filter((x) => x !== l && effectKind(x.retrainedEffect) === 'up');
    if (up.length > 0) {
      const best = up.reduce((a, b) => (b.retrainedEffect.mean > a.retrainedEffect.mean ? b : a));
      parts.push(
        `At ${share(best.ratio)} it even raised accuracy, by ${points(best.retrainedEffect.mean)} points ${intervalText(best.retrainedEffect)}.`,
      );
    }
  }
  const beyond = f.levels[kept + 1];
  if (beyond) {
    parts.push(
      `${kept >= 0 ? 'From' : 'With retraining, even at'} ${share(beyond.ratio)} pruned it lost ` +
        `${points(-beyond.retrainedEffect.mean)} points ${intervalText(beyond.retrainedEffect)}.`,
    );
  }
  const paper = f.levels.find((l) => l.ratio === 0.95);
  if (paper) {
    const holds = effectKind(paper.retrainedEffect) !== 'down';
    parts.push(
      holds
        ? "So the paper's claim, that most of a network (up to 95%) can go at no loss, holds here."
        : `So the paper's claim, that up to 95% of a network can go at no loss, does not hold here: at 95% retrained accuracy was ${percent(paper.retrained.mean)}.`,
    );
  }
  const last = f.levels[f.levels.length - 1];
  if (last) {
    const kind = effectKind(last.retrainGain);
    parts.push(
      kind === 'up'
        ? `Retraining matters: without it, ${share(last.ratio)} pruned gave ${percent(last.notRetrained.mean)}, and retraining won back ${points(last.retrainGain.mean)} points ${intervalText(last.retrainGain)}.`
        : kind === 'down'
          ? `Retraining hurt: at ${share(last.ratio)} pruned it lowered accuracy by ${points(-last.retrainGain.mean)} points ${intervalText(last.retrainGain)}.`
          : `Retraining made no difference we can tell at ${share(last.ratio)} pruned: ${points(last.retrainGain.mean)} points ${intervalText(last.retrainGain)}.`,
    );
  }
  return parts.join(' ');
}

/** Question 4's figures for one direction: accuracy on the new task of each way of reusing the trunk. */
export interface MaskFigures {
  from: string;
  to: string;
  mask: Interval;
  finetune: Interval;
  features: Interval;
  /** mask − fine-tuning and mask − feature extraction on the new task, paired by seed. */
  vsFinetune: Interval;
  vsFeatures: Interval;
  /** The old task's accuracy at the end, with the mask and with fine-tuning. */
  oldWithMask: Interval;
  oldWithFinetune: Interval;
}

export function maskAnswer(f: MaskFigures): string {
  const vs = (e: Interval, other: string) => {
    switch (effectKind(e)) {
      case 'up':
        return `beat ${other} by ${points(e.mean)} points ${intervalText(e)}`;
      case 'down':
        return `fell short of ${other} by ${points(-e.mean)} points ${intervalText(e)}`;
      case 'unclear':
        return `could not be told apart from ${other} (${points(e.mean)} points, ${intervalText(e).slice(1, -1)})`;
      case 'single':
        return `differed from ${other} by ${points(e.mean)} points on one seed`;
    }
  };
  const verdict = {
    up: "Piggyback's claim, that choosing weights beats training them, holds here.",
    down: "Piggyback's claim, that choosing weights beats training them, does not hold here at this budget.",
    unclear: tooWideToTell(f.vsFinetune)
      ? `Piggyback's claim that choosing weights beats training them is not borne out: the mask was ${points(Math.abs(f.vsFinetune.mean))} points ${f.vsFinetune.mean < 0 ? 'lower' : 'higher'} on average, but ${seeds(f.vsFinetune.n)} are too few to tell; run more seeds.`
      : "Piggyback's claim that choosing weights beats training them is not borne out, but choosing did as well as training every weight.",
    single: 'One seed cannot tell a real difference from noise; run more seeds.',
  }[effectKind(f.vsFinetune)];
  return (
    `From a trunk trained on ${f.from}, learning ${f.to} by choosing weights only (a mask, Piggyback) reached ` +
    `${percent(f.mask.mean)}, fine-tuning the whole network ${percent(f.finetune.mean)}, and a new head on frozen ` +
    `features ${percent(f.features.mean)}. The mask ${vs(f.vsFinetune, 'fine-tuning')} and ${vs(f.vsFeatures, 'feature extraction')}. ` +
    `${verdict} Fine-tuning left ${f.from} at ${percent(f.oldWithFinetune.mean)}; the mask leaves the trunk as it was (${percent(f.oldWithMask.mean)}).`
  );
}
