import { readdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../eval/result.js';
import { writeJsonAtomic } from './files.js';
import type { RunSpec } from './plan.js';

/** The file of one finished run: what was asked (spec), what came out (result), and where it ran. */
export interface RunRecord {
  format: 'unforget-run';
  formatVersion: 1;
  spec: RunSpec;
  result: RunResult;
  host: RunHost;
  /** ISO time the run finished. */
  finishedAt: string;
}

/** The machine a run ran on. */
export interface RunHost {
  node: string;
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string;
}

/** This machine, as a run record names it. */
export function thisHost(): RunHost {
  const cpu = cpus();
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
  };
}

/** What the results folder holds for one planned run. */
export type SavedRun =
  { status: 'done'; record: RunRecord } | { status: 'missing' } | { status: 'unusable'; reason: string };

export const runFileName = (id: string): string => `${id}.json`;

/** The record of a finished run; `host` is where it ran (default: this machine). */
export function makeRecord(spec: RunSpec, result: RunResult, host: RunHost = thisHost()): RunRecord {
  return {
    format: 'unforget-run',
    formatVersion: 1,
    spec,
    result,
    host,
    finishedAt: new Date().toISOString(),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isAccuracy = (v: unknown) => isNumber(v) && v >= 0 && v <= 1;

/**
 * Why `value` is not a whole, finished run record, or null when it is: every task trained and tested
 * (a square accuracy matrix of accuracies), the metrics and costs present, training not stopped.
 */
export function incompleteReason(value: unknown): string | null {
  if (!isObject(value) || value.format !== 'unforget-run') return 'it is not an unforget run record';
  if (value.formatVersion !== 1) return `its format version ${String(value.formatVersion)} is not 1`;
  const spec = value.spec;
  if (!isObject(spec) || typeof spec.id !== 'string' || typeof spec.strategy !== 'string')
    return 'it has no run spec';
  const r = value.result;
  if (!isObject(r)) return 'it has no result';
  if (r.stopped !== false) return 'its training was stopped before the last task';
  const names = r.taskNames;
  const matrix = r.accuracyMatrix;
  if (!Array.isArray(names) || names.length === 0) return 'it has no task names';
  const T = names.length;
  if (!Array.isArray(matrix) || matrix.length !== T) return `its accuracy matrix does not have ${T} rows`;
  if (!matrix.every((row) => Array.isArray(row) && row.length === T && row.every(isAccuracy)))
    return `its accuracy matrix is not ${T}×${T} accuracies`;
  if (!Array.isArray(r.initialAccuracy) || r.initialAccuracy.length !== T)
    return 'it has no initial accuracies';
  const m = r.metrics;
  if (!isObject(m) || !isNumber(m.averageAccuracy)) return 'it has no metrics';
  const c = r.cost;
  if (
    !isObject(c) ||
    !Array.isArray(c.trainMs) ||
    c.trainMs.length !== T ||
    !c.trainMs.every(isNumber) ||
    !isNumber(c.testMsPerExample) ||
    !isNumber(c.strategyBytes) ||
    typeof c.needsOldData !== 'boolean'
  )
    return 'its costs are missing';
  const training = r.training;
  if (!isObject(training) || training.seed !== spec.seed) return 'its seed does not match its spec';
  if (r.strategy !== spec.strategy) return 'its strategy does not match its spec';
  if (typeof spec.validation === 'number') {
    const v = r.validation;
    if (!isObject(v) || v.fraction !== spec.validation || !isNumber(v.averageAccuracy)) {
      return 'its validation accuracy is missing';
    }
    const vm = v.accuracyMatrix;
    if (
      !Array.isArray(vm) ||
      vm.length !== T ||
      !vm.every((row) => Array.isArray(row) && row.length === T && row.every(isAccuracy))
    )
      return `its validation accuracy matrix is not ${T}×${T} accuracies`;
  }
  return null;
}

/** Reads the saved result of run `id` from `folder`: done only if it parses and is complete. */
export async function readSavedRun(folder: string, id: string): Promise<SavedRun> {
  let text: string;
  try {
    text = await readFile(join(folder, runFileName(id)), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { status: 'unusable', reason: 'it is not valid JSON (half-written?)' };
  }
  const reason = incompleteReason(value);
  if (reason) return { status: 'unusable', reason };
  const record = value as RunRecord;
  if (record.spec.id !== id) return { status: 'unusable', reason: `it holds run ${record.spec.id}` };
  return { status: 'done', record };
}

/** Saves a finished run as `<folder>/<id>.json`, atomically (a crash never leaves half a file). */
export async function saveRun(folder: string, record: RunRecord): Promise<string> {
  const path = join(folder, runFileName(record.spec.id));
  await writeJsonAtomic(path, record);
  return path;
}

/**
 * Every complete run record in `folder` (files that are not complete records are left out, with the
 * reason in `skipped`), in name order.
 */
export async function readRunRecords(
  folder: string,
): Promise<{ records: RunRecord[]; skipped: { file: string; reason: string }[] }> {
  const files = (await readdir(folder)).filter((f) => f.endsWith('.json') && !f.startsWith('.')).sort();
  const records: RunRecord[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const file of files) {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(join(folder, file), 'utf8'));
    } catch {
      skipped.push({ file, reason: 'it is not valid JSON' });
      continue;
    }
    if (isObject(value) && value.format === 'unforget-comparison') continue;
    const reason = incompleteReason(value);
    if (reason) skipped.push({ file, reason });
    else if (runFileName((value as RunRecord).spec.id) !== file)
      skipped.push({ file, reason: `it holds run ${(value as RunRecord).spec.id}` });
    else records.push(value as RunRecord);
  }
  return { records, skipped };
}
