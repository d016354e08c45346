#!/usr/bin/env node
import { Command } from 'commander';
import { UnforgetError } from '../errors.js';
import { version } from '../version.js';
import { compareCommand } from './compare.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { infoCommand } from './info.js';
import { learnCommand } from './learn.js';
import { predictCommand } from './predict.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve.js';
import { studyCommand } from './study.js';
import { workerCommand } from './worker.js';

const program = new Command('unforget')
  .description('Teach one neural network many tasks without forgetting the old ones (TensorFlow.js).')
  .version(version)
  .showHelpAfterError('(run with --help for the options)');
program.addCommand(runCommand());
program.addCommand(compareCommand());
program.addCommand(reportCommand());
program.addCommand(studyCommand());
program.addCommand(serveCommand());
program.addCommand(workerCommand());
program.addCommand(learnCommand());
program.addCommand(evalCommand());
program.addCommand(predictCommand());
program.addCommand(exportCommand());
program.addCommand(infoCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof UnforgetError) {
    console.error(`unforget: ${error.message}`);
    process.exit(1);
  }
  // No stack trace for a user: what the system said, and how to get the trace for a bug report.
  if (process.env.UNFORGET_DEBUG) throw error;
  const message = error instanceof Error ? error.message : String(error);
  console.error(
    `unforget: ${message}\n(this is unforget's fault if your input looks right: please report it with the trace UNFORGET_DEBUG=1 prints)`,
  );
  process.exit(2);
}
