import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** How the tests start the command line: from source, through tsx. */
export const cli = ['--import', 'tsx', 'src/cli/main.ts'];

/** What one run of the command line gave. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `unforget ...args` in a process of its own and returns its exit code and output. */
export async function unforget(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [...cli, ...args], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
