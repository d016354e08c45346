import { Command } from 'commander';
import { writeReport } from '../report/write.js';
import { comparisonTable } from '../report/table.js';

export function reportCommand(): Command {
  return new Command('report')
    .description('write the HTML report (table and plots, opens offline) of a results folder made by compare')
    .argument('<folder>', "the results folder 'unforget compare' wrote")
    .option('--output <file>', 'where to write the report (default <folder>/report.html)')
    .option('--quiet', 'do not print the table')
    .action(async (folder: string, flags: { output?: string; quiet?: boolean }) => {
      const report = await writeReport(folder, flags.output);
      for (const s of report.skipped) console.error(`unforget: left out ${s.file}: ${s.reason}`);
      if (!flags.quiet) console.log(`${comparisonTable(report.summary)}\n`);
      console.log(`report of ${report.runs} runs written to ${report.path}`);
    });
}
