import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DataError } from '../errors.js';
import type { ComparisonFile } from '../experiments/compare.js';
import { writeFileAtomic } from '../experiments/files.js';
import { readRunRecords, type RunRecord } from '../experiments/store.js';
import { reportHtml } from './html.js';
import { summarize, type ComparisonSummary } from './summary.js';
import { comparisonMarkdown } from './table.js';

/** The strategy order and the choice of the comparison saved in `folder`, if it has a comparison.json. */
async function savedPlan(folder: string): Promise<{ order: string[]; choose: 'validation' | null }> {
  try {
    const file = JSON.parse(await readFile(join(folder, 'comparison.json'), 'utf8')) as ComparisonFile;
    return {
      order: Array.isArray(file.options?.strategies) ? file.options.strategies.map(String) : [],
      choose: file.options?.choose === 'validation' ? 'validation' : null,
    };
  } catch {
    return { order: [], choose: null };
  }
}

/** The finished runs of a results folder, summarized; the files left out are listed with the reason. */
export async function readComparison(folder: string): Promise<{
  records: RunRecord[];
  summary: ComparisonSummary;
  skipped: { file: string; reason: string }[];
}> {
  let found: Awaited<ReturnType<typeof readRunRecords>>;
  try {
    found = await readRunRecords(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DataError(
        `there is no results folder ${folder}; run 'unforget compare' first, or name the folder it wrote`,
      );
    }
    throw error;
  }
  if (found.records.length === 0) {
    throw new DataError(
      `${folder} holds no finished runs` +
        (found.skipped.length ? ` (${found.skipped.map((s) => `${s.file}: ${s.reason}`).join('; ')})` : '') +
        "; run 'unforget compare' to make them",
    );
  }
  const { order, choose } = await savedPlan(folder);
  return { ...found, summary: summarize(found.records, order, { choose }) };
}

/**
 * Writes the HTML report of the runs in `folder` to `output` (default `<folder>/report.html`), and
 * the table as Markdown to `table.md` beside it; returns the report's path and the summary it shows.
 */
export async function writeReport(
  folder: string,
  output = join(folder, 'report.html'),
): Promise<{
  path: string;
  summary: ComparisonSummary;
  runs: number;
  skipped: { file: string; reason: string }[];
}> {
  const { records, summary, skipped } = await readComparison(folder);
  const dates = records.map((r) => r.finishedAt).sort();
  const hosts = [...new Set(records.map((r) => `${r.host.cpus} × ${r.host.cpuModel}, Node ${r.host.node}`))];
  const notes = [
    `${records.length} runs from ${folder}, finished ${dates[0]} to ${dates[dates.length - 1]}; ` +
      `unforget ${records[0].result.versions.unforget}, TensorFlow.js ${records[0].result.versions.tfjs}; ` +
      `on ${hosts.join('; ')}.`,
  ];
  await writeFileAtomic(output, reportHtml(summary, { notes, runs: records }));
  await writeFileAtomic(join(dirname(output), 'table.md'), comparisonMarkdown(summary));
  return { path: output, summary, runs: records.length, skipped };
}
