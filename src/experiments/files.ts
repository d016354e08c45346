import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { writeDurably } from '../persist/io.js';

/**
 * Writes `text` to `path` so that a reader never sees half a file: it goes to a temporary file in the
 * same folder first, is flushed to disk, and is renamed into place, so a crash leaves the previous file whole.
 */
export async function writeFileAtomic(path: string, text: string | Uint8Array): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true });
  const temporary = join(folder, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeDurably(temporary, text);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}
