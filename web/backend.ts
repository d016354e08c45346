/**
 * The page's TensorFlow.js backend: started once (webgl, else wasm with unforget's kernels, else cpu),
 * named in the header, and made to let the browser paint between training steps.
 */
import * as tf from '@tensorflow/tfjs';
import { useBrowserBackend, type BrowserBackend } from '../src/browser.js';

let current: string | null = null;

/** The backend in use, or null before one started. */
export const backendInUse = (): string | null => current;

/** Lets the browser paint and handle clicks between training steps: every read of a tensor first yields. */
function yieldOnRead(): void {
  const backend = tf.backend() as unknown as { read(id: object): Promise<unknown>; unforgetYields?: true };
  if (backend.unforgetYields) return;
  const read = backend.read.bind(backend);
  const channel = new MessageChannel();
  const waiting: (() => void)[] = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  backend.read = async (id) => {
    await new Promise<void>((done) => {
      waiting.push(done);
      channel.port2.postMessage(0);
    });
    return read(id);
  };
  backend.unforgetYields = true;
}

export async function startBackend(want: BrowserBackend): Promise<void> {
  const label = document.getElementById('backend') as HTMLElement;
  if (current && (want === 'auto' || want === current)) return;
  const notes: string[] = [];
  label.textContent = 'starting…';
  const name = await useBrowserBackend(want, {
    wasmPath: new URL('wasm/', location.href).href,
    onFallback: (backend, reason) => notes.push(`${backend}: ${reason}`),
  });
  yieldOnRead();
  current = name;
  label.textContent = name + (notes.length > 0 ? ` (${notes.join('; ')})` : '');
  document.body.dataset.backend = name;
}
