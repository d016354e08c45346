import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addStrategyFlags, buildStrategy, givenStrategyOptions } from '../../src/cli/options.js';
import type { RunResult } from '../../src/eval/result.js';
import { OptionError } from '../../src/errors.js';
import { exportTask } from '../../src/model/export.js';
import { learner, type Learner } from '../../src/model/learner.js';
import { maskedLayers } from '../../src/model/masked.js';
import { loadLearner, saveLearner } from '../../src/persist/save.js';
import type { Scenario } from '../../src/scenarios/types.js';
import { flagOption, parseOptionValue } from '../../src/strategies/entry.js';
import { packnet, packnetEntry, type PacknetStrategy } from '../../src/strategies/packnet.js';
import { train } from '../../src/train/loop.js';
import { sameBits, sampledSplitMnist, testBackend } from '../helpers.js';
import { unforget } from '../cli/spawn.js';

let scenario: Scenario;
let x: tf.Tensor;
let folder: string;

before(async () => {
  await testBackend();
  scenario = sampledSplitMnist(5);
  x = tf.tensor(scenario.tasks[0].test.inputs.subarray(0, 32 * 784), [32, 28, 28, 1]);
  folder = await mkdtemp(join(tmpdir(), 'unforget-packnet-options-'));
});

after(async () => {
  x.dispose();
  await rm(folder, { recursive: true, force: true });
});

/** Every masked kernel's values, copied. */
const kernels = (l: Learner) =>
  maskedLayers(l.trunk).map((m) => m.maskedWeight.read().dataSync().slice() as Float32Array);

/** Task `task`'s logits for `x`. */
function logits(l: Learner, task: number): Float32Array {
  const y = l.logits(x, task);
  const values = y.dataSync() as Float32Array;
  y.dispose();
  return values;
}

test("released: 'keep' and 'zero' differ only in the released weights' values when the next task starts", async () => {
  const runs = [];
  for (const released of ['zero', 'keep'] as const) {
    const s: Scenario = { ...scenario, tasks: scenario.tasks.slice(0, 2) };
    const l = learner({ backbone: { kind: 'mlp', hidden: [32] }, scenario: s, seed: 3 });
    const strategy = packnet({ pruneRatio: 0.5, retrainEpochs: 1, released });
    // The kernels as task 1 trained them, just before pruning.
    let trained: Float32Array[] = [];
    const finish = strategy.finishTask?.bind(strategy);
    strategy.finishTask = async (ctx) => {
      if (ctx.task === 0) trained = kernels(l);
      await finish?.(ctx);
    };
    let start: Float32Array[] = [];
    let owners: Uint8Array[] = [];
    let first: Float32Array = new Float32Array();
    await train(l, s, strategy, {
      iterations: 30,
      batchSize: 32,
      seed: 3,
      onTaskEnd: (task) => {
        if (task !== 0) return;
        start = kernels(l);
        owners = strategy.owners().map((o) => o.slice());
        first = logits(l, 0);
      },
    });
    runs.push({ trained, start, owners, first, last: logits(l, 0), end: kernels(l) });
    strategy.dispose();
    l.dispose();
  }
  const [zero, keep] = runs;
  assert.deepEqual(zero.owners, keep.owners, 'the same weights are kept and released');
  zero.trained.forEach((k, i) => assert.ok(sameBits(k, keep.trained[i]), 'task 1 trains the same'));
  let releasedCount = 0;
  zero.owners.forEach((own, i) => {
    for (let j = 0; j < own.length; j++) {
      if (own[j] === 1) {
        // Owned: retrained alike, the released weights out of the forward pass either way.
        assert.ok(Object.is(zero.start[i][j], keep.start[i][j]), `owned weight ${i}/${j} differs`);
      } else {
        releasedCount++;
        assert.equal(zero.start[i][j], 0, 'zero: released weights start the next task at 0');
        assert.ok(
          Object.is(keep.start[i][j], keep.trained[i][j]),
          'keep: released weights keep their values',
        );
      }
    }
  });
  assert.ok(releasedCount > 0);
  assert.ok(
    keep.start.some((k, i) => k.some((v, j) => zero.owners[i][j] === 0 && v !== 0)),
    'keep leaves non-zero values in the released weights',
  );
  // Task 1 answers the same in both, before and after task 2, bit for bit.
  assert.ok(sameBits(zero.first, keep.first), 'task 1 answers differently with keep');
  assert.ok(sameBits(zero.last, zero.first) && sameBits(keep.last, keep.first), 'task 1 moved');
  // Task 2 trained from different starting values, so its weights differ.
  assert.ok(zero.end.some((k, i) => !sameBits(k, keep.end[i])));
});

/** Three tasks learned with `pick`, and what was seen along the way. */
interface PickedRun {
  l: Learner;
  strategy: PacknetStrategy;
  s: Scenario;
  before: Float32Array[];
  accuracy: number[][];
  counts: number[];
}

/** The run the two `pick` tests share (the second disposes it), and the tensors there were before it. */
let shared: PickedRun | undefined;
let tensorsBefore = 0;

async function pickedRun(): Promise<PickedRun> {
  const s: Scenario = { ...scenario, tasks: scenario.tasks.slice(0, 3) };
  const l = learner({ backbone: { kind: 'mlp', hidden: [48, 32] }, scenario: s, seed: 5 });
  const strategy = packnet({ pruneRatio: 0.6, pick: true });
  const answers: Float32Array[] = [];
  const counts: number[] = [];
  const r = await train(l, s, strategy, {
    iterations: 40,
    batchSize: 32,
    seed: 5,
    onTaskEnd: (task) => {
      answers.push(logits(l, task));
      counts.push(tf.memory().numTensors);
    },
  });
  return { l, strategy, s, before: answers, accuracy: r.accuracyMatrix, counts };
}

test('pick: each new task uses only the earlier weights it picked, and old tasks stay bit for bit', async () => {
  tensorsBefore = tf.memory().numTensors;
  shared = await pickedRun();
  const { l, strategy, s, before: answers, accuracy, counts } = shared;
  // Every task answers, after the last, exactly what it answered when it was learned.
  answers.forEach((a, t) => assert.ok(sameBits(logits(l, t), a), `task ${t + 1} changed`));
  accuracy.forEach((row, t) => assert.ok(row[t] > 0.7, `task ${t + 1} learned only ${row[t]}`));
  // The first task picks nothing; later ones pick among the weights of earlier tasks only, and leave some out.
  const picked = strategy.picked();
  assert.equal(picked.length, 3);
  assert.equal(picked[0], null);
  const owners = strategy.owners();
  for (const t of [1, 2]) {
    const masks = picked[t] as Uint8Array[];
    let old = 0;
    let chosen = 0;
    masks.forEach((m, i) =>
      m.forEach((bit, j) => {
        const earlier = owners[i][j] !== 0 && owners[i][j] <= t;
        if (earlier) old++;
        if (bit === 1) {
          assert.ok(earlier, `task ${t + 1} picked weight ${i}/${j}, owned by ${owners[i][j]}`);
          chosen++;
        }
      }),
    );
    assert.ok(chosen > 0 && chosen < old, `task ${t + 1} picked ${chosen} of ${old} earlier weights`);
  }
  // What task t computes with is W ⊙ (its own weights + those it picked): the export bakes it in.
  const w = kernels(l);
  for (const t of [0, 1, 2]) {
    const model = exportTask(l, t);
    const baked = model.getWeights()[0].dataSync();
    for (let j = 0; j < baked.length; j++) {
      const uses =
        owners[0][j] === t + 1 ||
        (picked[t] ? picked[t][0][j] === 1 : owners[0][j] !== 0 && owners[0][j] <= t);
      assert.ok(Object.is(baked[j], uses ? w[0][j] * 1 : w[0][j] * 0), `task ${t + 1}, weight ${j}`);
    }
    // The export answers as the learner does, bit for bit.
    const a = model.predict(x) as tf.Tensor;
    const b = l.predict(x, s.tasks[t].name);
    assert.ok(sameBits(a.dataSync(), b.dataSync()), `the exported task ${t + 1} answers differently`);
    tf.dispose([a, b]);
    model.dispose();
  }
  // Owners take a byte per weight, each picking task a bit per weight.
  const sizes = [784 * 48, 48 * 32];
  assert.equal(
    strategy.memoryBytes?.(),
    sizes[0] + sizes[1] + 2 * sizes.reduce((n, k) => n + Math.ceil(k / 8), 0),
  );
  // Nothing grows from task to task but the cache of each task's masked kernels (2 layers).
  assert.deepEqual(
    counts.map((n) => n - counts[0]),
    [0, 2, 4],
  );
});

test('pick: the picked masks are saved as bits and give the same answers after loading', async () => {
  const { l, strategy, s } = shared ?? assert.fail('the run of the test before is missing');
  const path = join(folder, 'picked');
  await saveLearner(path, l, strategy);
  const loaded = await loadLearner(path);
  const again = loaded.strategy as PacknetStrategy;
  assert.equal(again.options.pick, 1);
  assert.equal(again.options.released, 'zero');
  assert.deepEqual(again.picked(), strategy.picked());
  assert.deepEqual(again.owners(), strategy.owners());
  for (let t = 0; t < s.tasks.length; t++) {
    assert.ok(
      sameBits(logits(loaded.learner, t), logits(l, t)),
      `task ${t + 1} answers differently after loading`,
    );
  }
  const manifest = JSON.parse(await readFile(join(path, 'unforget.json'), 'utf8')) as {
    strategy: { tensors?: { name: string; encoding: string }[] };
  };
  const pickedEntries = (manifest.strategy.tensors ?? []).filter((e) => e.name.startsWith('picked/'));
  assert.equal(pickedEntries.length, 4, 'two tasks × two layers');
  assert.ok(pickedEntries.every((e) => e.encoding === 'bits'));
  again.dispose();
  loaded.learner.dispose();
  strategy.dispose();
  l.dispose();
  assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors left behind');
});

test('released and pick are read from option maps and flags, and wrong values are refused', async () => {
  const flag = packnetEntry.options.find((o) => o.name === 'pick');
  assert.equal(flag?.kind, 'flag');
  assert.deepEqual(
    ['1', '0', 'true', 'false', 'TRUE', ' 0 '].map((v) => parseOptionValue(flag!, v)),
    [1, 0, 1, 0, 1, 0],
  );
  assert.throws(
    () => parseOptionValue(flag!, 'yes'),
    /pick is on or off: use 1, 0, true or false; got 'yes'/,
  );
  assert.throws(() => parseOptionValue(flag!, 'constructor'), OptionError);
  assert.equal(flagOption({}, 'pick'), false);
  assert.throws(() => flagOption({ pick: 2 }, 'pick'), OptionError);
  assert.throws(() => packnet({ released: 'half' as 'zero' }), /released must be one of: zero, keep/);
  const built = packnetEntry.create({ released: 'keep', pick: 1 });
  assert.equal(built.options.released, 'keep');
  assert.equal(built.options.pick, 1);
  assert.equal(packnetEntry.create({}).options.pick, 0);
  assert.equal(packnetEntry.create({}).options.released, 'zero');

  const parse = (...args: string[]) => {
    const command = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
    addStrategyFlags(command);
    command.parse(args, { from: 'user' });
    return givenStrategyOptions(command.opts());
  };
  const given = parse('--released', 'keep', '--pick');
  assert.deepEqual(given, { released: 'keep', pick: 1 });
  assert.equal(buildStrategy('packnet', given).options.pick, 1);
  assert.deepEqual(parse(), {});
  assert.throws(() => parse('--released', 'some'), /use one of: zero, keep/);
  assert.throws(() => buildStrategy('piggyback', { pick: 1 }), /the piggyback strategy takes no --pick/);
  // compare hands a flag to the strategies that take it, and refuses it when none does.
  const { compareCommand } = await import('../../src/cli/compare.js');
  await assert.rejects(
    compareCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
      .parseAsync(['--strategies', 'joint', '--pick'], { from: 'user' }),
    /none of the strategies compared \(joint\) takes --pick/,
  );
});

test('unforget run takes --released keep --pick', async () => {
  const output = join(folder, 'run.json');
  const r = await unforget(
    'run',
    ...['--scenario', 'split-mnist', '--tasks', '2', '--hidden', '16', '--iterations', '5'],
    ...['--strategy', 'packnet', '--released', 'keep', '--pick', '--output', output],
  );
  assert.equal(r.code, 0, r.stderr);
  const saved = JSON.parse(await readFile(output, 'utf8')) as RunResult;
  assert.equal(saved.strategyOptions.released, 'keep');
  assert.equal(saved.strategyOptions.pick, 1);
  const wrong = await unforget('run', '--strategy', 'packnet', '--released', 'maybe');
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /--released.*use one of: zero, keep/);
});
