import { stat as fileStat } from 'node:fs/promises';
import { join } from 'node:path';
import { fashionMnistFolder } from '../../data/idx.js';
import { OptionError } from '../../errors.js';
import type { BackboneSpec } from '../../model/backbones.js';
import { studyHtml } from '../../report/study.js';
import { backboneText, budgetText } from '../../report/summary.js';
import { strategyEntry } from '../../strategies/index.js';
import { runSpecs, type CompareOptions, type RunsOutcome } from '../compare.js';
import { writeFileAtomic, writeJsonAtomic } from '../files.js';
import { planRuns, specDifferences, type RunSpec } from '../plan.js';
import type { RunRecord } from '../store.js';
import {
  questionNames,
  questions,
  type Arm,
  type PartResult,
  type Question,
  type QuestionName,
  type StudyContext,
} from './questions.js';

/** What `unforget study` runs: which questions, on how many seeds, with what budget. */
export interface StudyOptions {
  /** Default: all four, in the order of `questionNames`. */
  questions?: readonly QuestionName[];
  /** Default 0–4. */
  seeds?: readonly number[];
  /** Passes over each task's data (default 1; ignored when `iterations` is given). */
  epochs?: number;
  /** Optimizer steps per task, instead of epochs. */
  iterations?: number;
  /** Default 128. */
  batchSize?: number;
  /** Default an mlp with two hidden layers of 400. */
  backbone?: BackboneSpec;
  /** Fashion-MNIST's IDX folder (default Debian's /usr/share/datasets/fashion-mnist). */
  data?: string;
  /** Use Fashion-MNIST: default when its folder is there; false runs on MNIST alone. */
  fashion?: boolean;
  /** Fractions pruned in the prune question. Default 0.5, 0.75, 0.9, 0.95, 0.98. */
  ratios?: readonly number[];
  backend?: RunSpec['backend'];
}

/** One question's outcome in `study.json`. */
export interface QuestionResult {
  name: QuestionName;
  asks: string;
  setup: string;
  /** answered: every run done; partial: some seeds missing; skipped: could not run (see note). */
  status: 'answered' | 'partial' | 'skipped' | 'not run';
  note?: string;
  parts: PartResult[];
  /** The ids of the runs it uses (files in the runs folder). */
  runs: string[];
}

/** `study.json`: every figure of the study, and what it was run with. */
export interface StudyFile {
  format: 'unforget-study';
  formatVersion: 1;
  setup: {
    seeds: number[];
    budget: string;
    backbone: string;
    fashion: boolean;
    data: string | null;
    ratios: number[];
  };
  questions: QuestionResult[];
  writtenAt: string;
}

/** A question planned: its parts' arms as run specs, or why it cannot run on this build. */
interface PlannedQuestion {
  question: Question;
  missing: string | null;
  /** Per part, per arm key, one spec per seed (in seed order). */
  specs: Record<string, RunSpec[]>[];
}

export interface StudyPlan {
  options: Required<Omit<StudyOptions, 'iterations' | 'data'>> & Pick<StudyOptions, 'iterations' | 'data'>;
  context: StudyContext;
  questions: PlannedQuestion[];
  /** Every run, once each (questions share arms: PackNet as the paper has it is in released and pick). */
  runs: RunSpec[];
}

const defaultRatios = [0.5, 0.75, 0.9, 0.95, 0.98];

/** A run's id from its arm: scenario, tasks, strategy and options, seed; equal arms share their runs. */
function runId(arm: Arm, seed: number): string {
  const options = Object.entries(arm.strategyOptions)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `-${k}-${v}`)
    .join('');
  const tasks = arm.tasks === undefined ? '' : `-${arm.tasks}task${arm.tasks === 1 ? '' : 's'}`;
  return `${arm.scenario}${tasks}-${arm.strategy}${options}-seed${seed}`;
}

/** Why `question` cannot run with this registry (an option it varies is missing), or null. */
function missingOptions(question: Question): string | null {
  const missing = question.needs.filter(
    (n) => !strategyEntry(n.strategy).options.some((o) => o.name === n.option),
  );
  if (missing.length === 0) return null;
  return `this build's ${missing.map((n) => `${n.strategy} has no '${n.option}' option`).join(' and ')}, so the question cannot be asked`;
}

async function isFolder(path: string): Promise<boolean> {
  return fileStat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/**
 * The runs of a study: each question's arms × seeds as ordinary run specs, shared where two questions
 * need the same run. Questions whose options this build's strategies lack are planned as skipped.
 *
 * ```ts
 * const plan = await planStudy({ questions: ['prune'], seeds: [0, 1], ratios: [0.5, 0.9], iterations: 20 });
 * plan.runs.length; // 10: unpruned + 2 fractions × (retrained, not) per seed
 * ```
 */
export async function planStudy(options: StudyOptions = {}): Promise<StudyPlan> {
  const names = options.questions?.length ? [...new Set(options.questions)] : [...questionNames];
  for (const n of names) {
    if (!questionNames.includes(n)) {
      throw new OptionError(`unknown question '${n}'; ask one of: ${questionNames.join(', ')}`);
    }
  }
  const ratios = [...(options.ratios ?? defaultRatios)].sort((a, b) => a - b);
  for (const r of ratios) {
    if (!(r > 0 && r < 1)) throw new OptionError(`each fraction pruned must be between 0 and 1; got ${r}`);
  }
  const resolved: StudyPlan['options'] = {
    questions: names,
    seeds: options.seeds ?? [0, 1, 2, 3, 4],
    epochs: options.epochs ?? 1,
    iterations: options.iterations,
    batchSize: options.batchSize ?? 128,
    backbone: options.backbone ?? { kind: 'mlp', hidden: [400, 400] },
    data: options.data,
    fashion: options.fashion ?? (await isFolder(options.data ?? fashionMnistFolder)),
    ratios,
    backend: options.backend ?? 'auto',
  };
  if (options.fashion && !(await isFolder(options.data ?? fashionMnistFolder))) {
    throw new OptionError(
      `Fashion-MNIST not found in ${options.data ?? fashionMnistFolder}; install Debian's dataset-fashion-mnist, ` +
        'pass its folder with --data, or leave Fashion-MNIST out',
    );
  }
  const context: StudyContext = { seeds: resolved.seeds, fashion: resolved.fashion, ratios };
  const byId = new Map<string, RunSpec>();
  const planned = questions
    .filter((q) => names.includes(q.name))
    .map((question): PlannedQuestion => {
      const missing = missingOptions(question);
      if (missing) return { question, missing, specs: [] };
      const specs = question.parts(context).map((part) =>
        Object.fromEntries(
          part.arms.map((arm) => {
            const armSpecs = planRuns({
              scenario: arm.scenario,
              setting: 'task',
              tasks: arm.tasks,
              data: arm.scenario.includes('fashion') ? resolved.data : undefined,
              strategies: [arm.strategy],
              strategyOptions: { [arm.strategy]: arm.strategyOptions },
              seeds: resolved.seeds,
              backbone: resolved.backbone,
              epochs: resolved.iterations === undefined ? resolved.epochs : undefined,
              iterations: resolved.iterations,
              batchSize: resolved.batchSize,
              backend: resolved.backend,
            }).map((spec) => ({ ...spec, id: runId(arm, spec.seed) }));
            for (const spec of armSpecs) {
              const same = byId.get(spec.id);
              if (same && specDifferences(same, spec).length > 0) {
                throw new Error(`two arms of the study plan run ${spec.id} differently`);
              }
              byId.set(spec.id, spec);
            }
            return [arm.key, armSpecs];
          }),
        ),
      );
      return { question, missing: null, specs };
    });
  // Seed by seed (every arm with the first seed, then the second, …), so that a study stopped half-way
  // has whole seeds to pair; within a seed, in question order.
  const seedIndex = (spec: RunSpec) => resolved.seeds.indexOf(spec.seed);
  const runs = [...byId.values()].sort((a, b) => seedIndex(a) - seedIndex(b));
  return { options: resolved, context, questions: planned, runs };
}

/**
 * Each question's figures and answer from the finished runs (`records`, any order; missing runs leave
 * a part with fewer seeds, or none). Pure: the same records give the same file, but for `writtenAt`.
 */
export function analyseStudy(plan: StudyPlan, records: readonly RunRecord[]): StudyFile {
  const done = new Map(records.map((r) => [r.spec.id, r]));
  const o = plan.options;
  const results = plan.questions.map(({ question, missing, specs }): QuestionResult => {
    const base = { name: question.name, asks: question.asks, setup: question.setup(plan.context) };
    if (missing) return { ...base, status: 'skipped', note: missing, parts: [], runs: [] };
    const parts = question.parts(plan.context);
    let complete = true;
    const results = parts.flatMap((part, p): PartResult[] => {
      const arms = specs[p];
      // Seeds where every arm finished: effects are paired by seed.
      const seeds = o.seeds.filter((_, i) => part.arms.every((a) => done.has(arms[a.key][i].id)));
      if (seeds.length < o.seeds.length) complete = false;
      if (seeds.length === 0) return [];
      const runs = Object.fromEntries(
        part.arms.map((a) => [
          a.key,
          arms[a.key].filter((s) => seeds.includes(s.seed)).map((s) => done.get(s.id) as RunRecord),
        ]),
      );
      return [{ label: part.label, seeds, ...question.analyse(part, runs) }];
    });
    const status = results.length === 0 ? 'not run' : complete ? 'answered' : 'partial';
    const note = [
      question.name !== 'prune' && !plan.context.fashion
        ? 'Fashion-MNIST was not used (not installed, or left out), so this is MNIST only.'
        : null,
      status === 'partial' ? 'Some runs are missing: the figures use the seeds every arm finished.' : null,
    ].filter((n): n is string => n !== null);
    return {
      ...base,
      status,
      ...(note.length ? { note: note.join(' ') } : {}),
      parts: results,
      runs: specs.flatMap((arms) => Object.values(arms).flatMap((s) => s.map((x) => x.id))),
    };
  });
  return {
    format: 'unforget-study',
    formatVersion: 1,
    setup: {
      seeds: [...o.seeds],
      budget: budgetText({
        epochs: o.iterations === undefined ? o.epochs : null,
        iterations: o.iterations ?? null,
        batchSize: o.batchSize,
      }),
      backbone: backboneText(o.backbone),
      fashion: o.fashion,
      data: o.data ?? null,
      ratios: [...o.ratios],
    },
    questions: results,
    writtenAt: new Date().toISOString(),
  };
}

/** Where a study writes: its runs folder (one JSON per run, as compare's), study.json and study.html. */
export interface StudyRun extends Omit<CompareOptions, 'folder'> {
  /** The study's folder; runs go to `<out>/runs`. */
  out: string;
}

export interface StudyOutcome {
  plan: StudyPlan;
  file: StudyFile;
  runs: RunsOutcome;
  jsonPath: string;
  htmlPath: string;
}

/**
 * Runs the study: plans the runs, executes them through `runSpecs` (the same pool, results folder and
 * resume as `compare`: a study stopped and started again redoes no finished run), then writes
 * `study.json` (every figure) and `study.html` (setup, plot, effect with its 95% interval and answer
 * per question). Written also when stopped, from the runs finished so far.
 *
 * ```ts
 * const out = await study({ questions: ['prune', 'mask'], seeds: [0, 1, 2] }, { out: 'study', workers: 2 });
 * console.log(out.file.questions.map((q) => q.parts.map((p) => p.answer)));
 * ```
 */
export async function study(options: StudyOptions, run: StudyRun): Promise<StudyOutcome> {
  const plan = await planStudy(options);
  const { out, ...rest } = run;
  const runs = await runSpecs(plan.runs, { ...rest, folder: join(out, 'runs') });
  const file = analyseStudy(plan, runs.records);
  const jsonPath = join(out, 'study.json');
  const htmlPath = join(out, 'study.html');
  await writeJsonAtomic(jsonPath, file);
  await writeFileAtomic(htmlPath, studyHtml(file));
  return { plan, file, runs, jsonPath, htmlPath };
}
