import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PersistenceError } from '../../src/errors.js';
import { compare, lockName } from '../../src/experiments/compare.js';
import { learnerLockPath, processAlive, removeLeftovers, takeLock } from '../../src/persist/lock.js';
import { saveLearner } from '../../src/persist/save.js';
import { testBackend } from '../helpers.js';
import { tinyLearner, tinyScenario } from '../strategies/tiny.js';

before(testBackend);

/** The id of a process that has exited (so no process has it, for a while at least). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const pid = Number(child.stdout.toString());
  assert.ok(!processAlive(pid));
  return pid;
}

test('one writer per folder: a live lock is refused naming its owner, a dead one is taken over', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'unforget-lock-'));
  const path = join(folder, '.lock');
  const lock = await takeLock(path, 'the folder x');
  assert.equal(lock.tookOverFrom, undefined);
  assert.equal(JSON.parse(await readFile(path, 'utf8')).pid, process.pid);
  await assert.rejects(
    takeLock(path, 'the folder x'),
    (e: Error) =>
      e instanceof PersistenceError &&
      new RegExp(`the folder x is in use by process ${process.pid} .*wait for it to finish or stop it`).test(
        e.message,
      ),
  );
  await lock.release();
  assert.deepEqual(await readdir(folder), []);
  const dead = deadPid();
  await writeFile(path, JSON.stringify({ pid: dead, host: '', since: 'then' }));
  const taken = await takeLock(path, 'the folder x');
  assert.equal(taken.tookOverFrom, dead);
  await taken.release();
});

test('leftovers of dead writers are removed, those of live ones kept', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'unforget-leftovers-'));
  const dead = deadPid();
  const names = [
    `.model.saving-${dead}-0a1b2c3d`,
    `.model.saving-${process.pid}-0a1b2c3d`,
    `.run.json.${dead}.1700000000000.tmp`,
    'model',
    '.model.previous',
  ];
  for (const n of names) await mkdir(join(folder, n));
  const removed = await removeLeftovers(folder);
  assert.deepEqual(removed.sort(), [`.model.saving-${dead}-0a1b2c3d`, `.run.json.${dead}.1700000000000.tmp`]);
  assert.deepEqual(
    (await readdir(folder)).sort(),
    [`.model.previous`, `.model.saving-${process.pid}-0a1b2c3d`, 'model'].sort(),
  );
});

test('saveLearner cleans up interrupted saves and refuses a folder another process is saving to', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'unforget-save-lock-'));
  const target = join(folder, 'model');
  const dead = deadPid();
  const leftover = join(folder, `.model.saving-${dead}-deadbeef`);
  await mkdir(leftover);
  await writeFile(join(leftover, 'weights.bin'), new Uint8Array(1000));
  const s = tinyScenario('task', 2);
  const l = tinyLearner(s);
  await saveLearner(target, l);
  assert.deepEqual((await readdir(folder)).sort(), ['model']);
  const lock = await takeLock(learnerLockPath(target), 'someone else');
  await assert.rejects(saveLearner(target, l), /the learner folder .*model is in use by process/);
  await lock.release();
  l.dispose();
});

test('two comparisons on one results folder: the second is refused before it runs anything', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'unforget-compare-lock-'));
  const lock = await takeLock(join(folder, lockName), 'a comparison');
  await assert.rejects(
    compare(
      {
        scenario: 'split-mnist',
        setting: 'task',
        tasks: 2,
        strategies: ['finetune'],
        seeds: [0],
        backbone: { kind: 'mlp', hidden: [4] },
        iterations: 1,
        batchSize: 8,
      },
      { folder, workers: 0 },
    ),
    (e: Error) =>
      e instanceof PersistenceError &&
      /the results folder .* is in use by process \d+ .*use another folder/.test(e.message),
  );
  assert.deepEqual(await readdir(folder), [lockName]);
  await lock.release();
});
