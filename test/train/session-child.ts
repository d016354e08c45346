/**
 * The second session of test/train/sessions.test.ts, in a process of its own: loads each saved learner
 * named on the command line, learns the third task as the first session would have, and prints every
 * task's outputs as JSON.
 */
import { loadLearner } from '../../src/persist/save.js';
import { learn } from '../../src/train/loop.js';
import { testBackend } from '../helpers.js';
import { outputsOf, sessionTasks, sessionOptions } from './session-tasks.js';

await testBackend();
const out: Record<string, number[][]> = {};
for (const folder of process.argv.slice(2)) {
  const { learner, strategy } = await loadLearner(folder);
  if (!strategy) throw new Error(`${folder} has no strategy`);
  const tasks = sessionTasks();
  await learn(learner, tasks[2], strategy, sessionOptions(strategy.name, tasks, 2));
  out[strategy.name] = outputsOf(learner);
  strategy.dispose?.();
  learner.dispose();
}
console.log(JSON.stringify(out));
