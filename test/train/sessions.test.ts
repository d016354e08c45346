import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { learner } from '../../src/model/learner.js';
import { saveLearner } from '../../src/persist/save.js';
import { registry } from '../../src/strategies/index.js';
import { learn } from '../../src/train/loop.js';
import { testBackend } from '../helpers.js';
import { outputsOf, sessionOptions, sessionTasks } from './session-tasks.js';

let folder: string;
before(async () => {
  await testBackend();
  folder = await mkdtemp(join(tmpdir(), 'unforget-sessions-'));
});
after(() => rm(folder, { recursive: true, force: true }));

// Save after task 2, load in a new process, learn task 3: the same numbers, bit for bit, as going on
// in memory, for every strategy (its Fisher, anchors, masks or owners carry over in the folder).
test('a learner saved after two tasks and loaded in a new process learns the third as if it had gone on', async () => {
  const tasks = sessionTasks();
  const inMemory: Record<string, number[][]> = {};
  const folders: string[] = [];
  for (const entry of registry) {
    const l = learner({ backbone: { kind: 'mlp', hidden: [24] }, inputShape: [28, 28, 1], seed: 5 });
    const strategy = entry.create(entry.name.toLowerCase().includes('ewc') ? { fisherSamples: 40 } : {});
    await learn(l, tasks[0], strategy, sessionOptions(entry.name, tasks, 0));
    await learn(l, tasks[1], strategy, sessionOptions(entry.name, tasks, 1));
    const path = join(folder, entry.name);
    await saveLearner(path, l, strategy);
    folders.push(path);
    await learn(l, tasks[2], strategy, sessionOptions(entry.name, tasks, 2));
    inMemory[entry.name] = outputsOf(l);
    assert.equal(l.history.length, 3);
    strategy.dispose?.();
    l.dispose();
  }
  const child = join(import.meta.dirname, 'session-child.ts');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, ...folders], {
    maxBuffer: 16 * 2 ** 20,
    env: process.env,
  });
  const loaded = JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<string, number[][]>;
  for (const entry of registry) {
    assert.equal(loaded[entry.name].length, 3, `${entry.name}: three tasks after the second session`);
    assert.deepEqual(loaded[entry.name], inMemory[entry.name], `${entry.name}: the second session differs`);
  }
});
