import { unlinkSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { PersistenceError } from '../errors.js';

/**
 * One writer per folder (Node only). A lock is a small file created only if absent, holding its
 * owner's process id; a lock whose process is gone (killed, crashed) is taken over. Writers also
 * remove what interrupted writers left behind (staging folders, temporary files) once they hold the lock.
 */

/** A lock held by this process; `release` removes it (it also goes when the process exits). */
export interface FolderLock {
  readonly path: string;
  /** The process id of the dead owner whose lock was taken over, if there was one. */
  readonly tookOverFrom?: number;
  release(): Promise<void>;
}

interface LockFile {
  pid: number;
  host: string;
  since: string;
}

/** Whether a process with id `pid` runs on this machine. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<LockFile | undefined> {
  try {
    const value = JSON.parse(await fs.readFile(path, 'utf8')) as Partial<LockFile>;
    if (typeof value.pid !== 'number') return undefined;
    return { pid: value.pid, host: String(value.host ?? ''), since: String(value.since ?? '') };
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock file `path` for `what` (e.g. 'the results folder results/x'), or fails with a
 * PersistenceError naming the process that holds it. A lock left by a dead process is taken over.
 */
export async function takeLock(path: string, what: string): Promise<FolderLock> {
  await fs.mkdir(dirname(path), { recursive: true }).catch(() => undefined);
  const mine: LockFile = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  let tookOverFrom: number | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(path, JSON.stringify(mine) + '\n', { flag: 'wx' });
      const remove = () => {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      };
      process.on('exit', remove);
      return {
        path,
        tookOverFrom,
        async release() {
          process.off('exit', remove);
          const held = await readLock(path);
          if (held?.pid === process.pid) await fs.rm(path, { force: true });
        },
      };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new PersistenceError(
          `cannot lock ${what} (${path}): ${(e as Error).message}; check that the folder can be written to`,
        );
      }
    }
    const held = await readLock(path);
    const otherHost = held !== undefined && held.host !== '' && held.host !== hostname();
    if (held !== undefined && (otherHost || processAlive(held.pid))) {
      throw new PersistenceError(
        `${what} is in use by process ${held.pid}${otherHost ? ` on ${held.host}` : ''} (since ${held.since}); ` +
          `wait for it to finish or stop it, or use another folder (if that process is gone, delete ${path})`,
      );
    }
    // Dead owner (or an unreadable lock): move it out of the way atomically, so only one taker wins.
    const stale = `${path}.stale-${process.pid}`;
    try {
      await fs.rename(path, stale);
      await fs.rm(stale, { force: true });
      tookOverFrom = held?.pid ?? -1;
    } catch {
      // Another process took it over first; try again.
    }
  }
  throw new PersistenceError(`cannot lock ${what} (${path}): another process keeps taking it; try again`);
}

/** The process id in an interrupted writer's name (`….saving-PID-xxxx`, `….PID.TIME.tmp`), if any. */
function ownerOf(name: string): number | undefined {
  const m = /\.saving-(\d+)-[0-9a-f]+$/.exec(name) ?? /\.(\d+)\.\d+\.tmp$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Removes from `folder` what writers that are no longer running left behind: staging folders of
 * interrupted saves (`.NAME.saving-PID-xxxx`) and temporary files (`.NAME.PID.TIME.tmp`), only for
 * names starting with `.${prefix}` when given. Returns the names removed.
 */
export async function removeLeftovers(folder: string, prefix = ''): Promise<string[]> {
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(`.${prefix}`)) continue;
    const pid = ownerOf(name);
    if (pid === undefined || pid === process.pid || processAlive(pid)) continue;
    await fs.rm(join(folder, name), { recursive: true, force: true }).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}

/** The lock file of a learner folder: beside it, so that the folder itself can be renamed into place. */
export const learnerLockPath = (target: string): string => join(dirname(target), `.${basename(target)}.lock`);
