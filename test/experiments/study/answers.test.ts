import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  effectKind,
  maskAnswer,
  pickAnswer,
  points,
  pruneAnswer,
  releasedAnswer,
  type PruneLevel,
} from '../../../src/experiments/study/answers.js';
import type { Interval } from '../../../src/experiments/study/interval.js';

/** A made-up effect or mean, in fractions, over 5 seeds. */
const iv = (mean: number, low: number | null, high: number | null, n = 5): Interval => ({
  mean,
  low,
  high,
  n,
});

test('the kind of an effect follows its interval: above zero, below, across, or one seed', () => {
  assert.equal(effectKind(iv(0.008, 0.002, 0.014)), 'up');
  assert.equal(effectKind(iv(-0.01, -0.02, -0.001)), 'down');
  assert.equal(effectKind(iv(-0.001, -0.006, 0.004)), 'unclear');
  assert.equal(effectKind(iv(0.03, null, null, 1)), 'single');
  // Below zero but rounding to 0.0 points: no difference, not "lowered by 0.0 points".
  assert.equal(effectKind(iv(-0.0004, -0.0009, -0.0001)), 'unclear');
  assert.equal(points(-0.0004), '0.0');
  assert.equal(points(-0.012), '−1.2');
});

test('released: the answer says raised, lowered or no difference as the numbers do', () => {
  const figures = {
    scenario: 'split MNIST',
    tasks: 5,
    zero: iv(0.97, 0.96, 0.98),
    keep: iv(0.978, 0.97, 0.985),
  };
  const up = releasedAnswer({ ...figures, effect: iv(0.008, 0.002, 0.014) });
  assert.match(
    up,
    /^Keeping the weights each task released .* raised the mean accuracy over the 5 tasks of split MNIST by 0\.8 points \(95% interval 0\.2 to 1\.4, 5 seeds\)/,
  );
  assert.match(up, /5 seeds\); zero gave 97\.0%, keep 97\.8%\. /);
  assert.match(up, /worth keeping/);
  const down = releasedAnswer({ ...figures, effect: iv(-0.012, -0.02, -0.004) });
  assert.match(down, /lowered the mean accuracy .* by 1\.2 points \(95% interval −2\.0 to −0\.4, 5 seeds\)/);
  assert.match(down, /setting them to zero, as the paper does, is the better start/);
  const none = releasedAnswer({ ...figures, effect: iv(-0.001, -0.006, 0.004) });
  assert.match(
    none,
    /made no difference we can tell to the mean accuracy .*: −0\.1 points \(95% interval −0\.6 to 0\.4, 5 seeds\)/,
  );
  assert.match(none, /does not matter where released weights start/);
  const tiny = releasedAnswer({ ...figures, effect: iv(-0.0004, -0.0009, -0.0001) });
  assert.match(tiny, /made no difference we can tell .*: 0\.0 points/);
  assert.doesNotMatch(tiny, /lowered/);
  const wide = releasedAnswer({ ...figures, effect: iv(0.02, -0.005, 0.045) });
  assert.match(wide, /made no difference we can tell .*: 2\.0 points/);
  assert.match(
    wide,
    /the mean moved by 2\.0 points but the interval is too wide to tell with 5 seeds; run more seeds/,
  );
  assert.doesNotMatch(wide, /does not matter/);
  const one = releasedAnswer({ ...figures, effect: iv(0.02, null, null, 1) });
  assert.match(one, /changed .* by 2\.0 points on the one seed run \(one seed, so no interval\)/);
  assert.notEqual(up, down);
});

test('pick: the answer follows the final effect and says whether the gap grew as tasks were added', () => {
  const curve = [0.99, 0.98, 0.97].map((m) => iv(m, m - 0.01, m + 0.01));
  const grew = pickAnswer({
    scenario: 'split MNIST',
    withoutPick: curve,
    withPick: curve,
    effects: [iv(0, -0.001, 0.001), iv(0.002, 0.0, 0.004), iv(0.015, 0.005, 0.025)],
  });
  assert.match(
    grew,
    /raised the mean accuracy over the 3 tasks of split MNIST by 1\.5 points \(95% interval 0\.5 to 2\.5/,
  );
  assert.match(grew, /The gap grew as tasks were added: 0\.2 points after 2 tasks, 1\.5 after 3\./);
  assert.match(grew, /as CPG and WSN argue/);
  const shrank = pickAnswer({
    scenario: 'split MNIST',
    withoutPick: curve,
    withPick: curve,
    effects: [iv(0, -0.001, 0.001), iv(-0.03, -0.04, -0.02), iv(-0.01, -0.015, -0.005)],
  });
  assert.match(shrank, /lowered .* by 1\.0 points/);
  assert.match(shrank, /The gap shrank/);
  assert.match(shrank, /as PackNet does, was the better choice/);
});

function level(ratio: number, retrained: number, low: number, high: number, gain: Interval): PruneLevel {
  return {
    ratio,
    retrained: iv(0.9 + retrained, 0, 1),
    notRetrained: iv(0.9 + retrained - gain.mean, 0, 1),
    retrainedEffect: iv(retrained, low, high),
    notRetrainedEffect: iv(retrained - gain.mean, low - gain.mean, high - gain.mean),
    retrainGain: gain,
  };
}

test('prune: the answer finds the largest fraction that lost nothing and judges the paper’s 95%', () => {
  const gain = iv(0.2, 0.15, 0.25);
  const holds = pruneAnswer({
    scenario: 'MNIST',
    unpruned: iv(0.9, 0.89, 0.91),
    levels: [
      level(0.5, 0.004, 0.001, 0.007, iv(0, -0.01, 0.01)),
      level(0.9, 0.0, -0.005, 0.005, iv(0.01, 0.0, 0.02)),
      level(0.95, -0.002, -0.008, 0.004, iv(0.05, 0.02, 0.08)),
      level(0.98, -0.05, -0.07, -0.03, gain),
    ],
  });
  assert.match(holds, /^The unpruned network reached 90\.0% on MNIST\./);
  assert.match(holds, /pruning up to 95% of the weights did not lower accuracy \(at 95%: −0\.2 points/);
  assert.match(holds, /At 50% it even raised accuracy, by 0\.4 points/);
  assert.match(holds, /From 98% pruned it lost 5\.0 points \(95% interval −7\.0 to −3\.0, 5 seeds\)/);
  assert.match(holds, /the paper's claim, .*, holds here/);
  assert.match(
    holds,
    /Retraining matters: without it, 98% pruned gave 65\.0%, and retraining won back 20\.0 points/,
  );
  const fails = pruneAnswer({
    scenario: 'MNIST',
    unpruned: iv(0.9, 0.89, 0.91),
    levels: [
      level(0.5, -0.01, -0.02, -0.001, iv(0, -0.01, 0.01)),
      level(0.95, -0.1, -0.12, -0.08, iv(0, -0.01, 0.01)),
    ],
  });
  assert.match(fails, /With retraining, even at 50% pruned it lost 1\.0 points/);
  assert.doesNotMatch(fails, /did not lower/);
  assert.match(fails, /does not hold here: at 95% retrained accuracy was 80\.0%/);
  assert.match(fails, /Retraining made no difference we can tell at 95% pruned/);
  const higher = pruneAnswer({
    scenario: 'MNIST',
    unpruned: iv(0.5, 0.4, 0.6),
    levels: [level(0.5, 0.2, 0.1, 0.3, iv(0.2, 0.1, 0.3))],
  });
  assert.match(
    higher,
    /did not lower accuracy: at 50% it was even 20\.0 points higher \(95% interval 10\.0 to 30\.0/,
  );
  assert.doesNotMatch(higher, /it even raised/);
});

test('mask: the answer compares the mask with fine-tuning and feature extraction as the numbers say', () => {
  const figures = {
    from: 'MNIST',
    to: 'Fashion-MNIST',
    mask: iv(0.8, 0.79, 0.81),
    finetune: iv(0.85, 0.84, 0.86),
    features: iv(0.75, 0.74, 0.76),
    oldWithMask: iv(0.95, 0.94, 0.96),
    oldWithFinetune: iv(0.4, 0.3, 0.5),
  };
  const short = maskAnswer({
    ...figures,
    vsFinetune: iv(-0.05, -0.07, -0.03),
    vsFeatures: iv(0.05, 0.03, 0.07),
  });
  assert.match(
    short,
    /^From a trunk trained on MNIST, learning Fashion-MNIST by choosing weights only .* reached 80\.0%, fine-tuning the whole network 85\.0%, and a new head on frozen features 75\.0%\./,
  );
  assert.match(
    short,
    /The mask fell short of fine-tuning by 5\.0 points .* and beat feature extraction by 5\.0 points/,
  );
  assert.match(short, /does not hold here/);
  assert.match(short, /Fine-tuning left MNIST at 40\.0%; the mask leaves the trunk as it was \(95\.0%\)/);
  const beats = maskAnswer({
    ...figures,
    vsFinetune: iv(0.02, 0.01, 0.03),
    vsFeatures: iv(0.003, -0.01, 0.016),
  });
  assert.match(beats, /The mask beat fine-tuning by 2\.0 points/);
  assert.match(
    beats,
    /could not be told apart from feature extraction \(0\.3 points, 95% interval −1\.0 to 1\.6, 5 seeds\)/,
  );
  assert.match(beats, /holds here/);
  const tie = maskAnswer({ ...figures, vsFinetune: iv(0.0, -0.01, 0.01), vsFeatures: iv(0.05, 0.03, 0.07) });
  assert.match(tie, /is not borne out, but choosing did as well as training every weight/);
  const wide = maskAnswer({
    ...figures,
    vsFinetune: iv(-0.046, -0.103, 0.011, 3),
    vsFeatures: iv(0.05, 0.03, 0.07),
  });
  assert.match(
    wide,
    /could not be told apart from fine-tuning \(−4\.6 points, 95% interval −10\.3 to 1\.1, 3 seeds\)/,
  );
  assert.match(
    wide,
    /is not borne out: the mask was 4\.6 points lower on average, but 3 seeds are too few to tell/,
  );
  assert.doesNotMatch(wide, /did as well/);
});
