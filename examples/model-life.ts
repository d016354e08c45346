/**
 * The README's "A model's life" in TypeScript. Run it after the walk-through's first two commands
 * (they make demo/my-model): `node --import tsx examples/model-life.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import {
  evaluate,
  exportTask,
  fileHandler,
  fromPretrained,
  learn,
  loadLearner,
  loadMnist,
  saveLearner,
  strategies,
  useBackend,
  withClasses,
  type Strategy,
} from 'unforget';

await useBackend();
const digits = loadMnist();
const high = {
  train: withClasses(digits.train, [5, 6, 7, 8, 9]),
  test: withClasses(digits.test, [5, 6, 7, 8, 9]),
};

// Your model, its classifier kept as the first task: its answers are the model's own, bit for bit.
const model = await tf.loadLayersModel(fileHandler('demo/my-model'));
const l = fromPretrained(model, { keepHead: { name: 'digits 0-4', classNames: ['0', '1', '2', '3', '4'] } });
model.dispose(); // the learner works on its own copy

// A new task, without the old task's data.
const lwf = strategies.lwf();
const r = await learn(l, { name: 'digits 5-9', ...high, source: 'mnist:5-9' }, lwf, { epochs: 2 });
console.log(r.accuracies); // [null, 0.94]: no test data was given for the adopted task

await saveLearner('demo/ts-learner', l, lwf); // next week:
const { learner, strategy } = await loadLearner('demo/ts-learner');
console.log(evaluate(learner, { 'digits 0-4': withClasses(digits.test, [0, 1, 2, 3, 4]) }));
const exported = exportTask(learner, 'digits 5-9'); // a plain tf.LayersModel
await exported.save(fileHandler('demo/digits-5-9'));
(strategy as Strategy).dispose?.();
