import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dataset } from '../../src/data/dataset.js';
import { split } from '../../src/scenarios/split.js';
import { holdOutValidation } from '../../src/scenarios/validation.js';

/** n examples of one value each (their id), labels cycling over 4 classes with uneven counts. */
function idData(n: number, offset: number): Dataset {
  const labels = Int32Array.from({ length: n }, (_, i) => (i % 7 < 3 ? 0 : (i % 7) - 2) % 4);
  return {
    inputs: Float32Array.from({ length: n }, (_, i) => offset + i),
    shape: [n, 1],
    labels,
    classNames: ['a', 'b', 'c', 'd'],
  };
}

const ids = (d: Dataset) => [...d.inputs];
const scenario = split({ train: idData(700, 0), test: idData(100, 10_000) }, { tasks: 2, setting: 'task' });

test('the validation part is held out of each task’s training data, class by class, and never of its test data', () => {
  const { training, validation } = holdOutValidation(scenario, 0.1, 3);
  scenario.tasks.forEach((task, t) => {
    const rest = ids(training.tasks[t].train);
    const held = ids(validation.tasks[t].test);
    assert.equal(new Set([...rest, ...held]).size, rest.length + held.length, 'disjoint');
    assert.deepEqual(
      [...rest, ...held].sort((a, b) => a - b),
      ids(task.train),
      'together they are the training data',
    );
    assert.equal(training.tasks[t].test, task.test, 'the test data is the same object, untouched');
    assert.equal(validation.tasks[t].train.labels.length, 0);
    assert.ok(
      held.every((id) => id < 10_000),
      'no test example in validation',
    );
    for (const label of task.classes) {
      const all = task.train.labels.filter((y) => y === label).length;
      const out = validation.tasks[t].test.labels.filter((y) => y === label).length;
      assert.equal(out, Math.round(0.1 * all), `10% of class ${label}`);
    }
    assert.deepEqual(
      [...validation.tasks[t].test.labels],
      held.map((id) => task.train.labels[ids(task.train).indexOf(id)]),
      'each held-out example keeps its label',
    );
  });
  assert.deepEqual(
    validation.tasks.map((t) => t.name),
    scenario.tasks.map((t) => t.name),
  );
});

test('the same seed holds out the same examples; another seed others', () => {
  const a = holdOutValidation(scenario, 0.2, 5);
  const b = holdOutValidation(scenario, 0.2, 5);
  const c = holdOutValidation(scenario, 0.2, 6);
  for (let t = 0; t < 2; t++) {
    assert.deepEqual(ids(a.validation.tasks[t].test), ids(b.validation.tasks[t].test));
    assert.deepEqual(ids(a.training.tasks[t].train), ids(b.training.tasks[t].train));
    assert.notDeepEqual(ids(a.validation.tasks[t].test), ids(c.validation.tasks[t].test));
  }
});

test('every class keeps a training example, and a bad share is refused', () => {
  const tiny = split({ train: idData(14, 0), test: idData(14, 100) }, { tasks: 2, setting: 'task' });
  const { training, validation } = holdOutValidation(tiny, 0.9, 0);
  tiny.tasks.forEach((task, t) => {
    for (const label of task.classes) {
      assert.ok(training.tasks[t].train.labels.includes(label), `class ${label} still trains`);
      assert.ok(validation.tasks[t].test.labels.includes(label), `class ${label} is validated`);
    }
  });
  assert.throws(() => holdOutValidation(tiny, 0, 0), /between 0 and 1/);
  assert.throws(() => holdOutValidation(tiny, 1, 0), /between 0 and 1/);
});
