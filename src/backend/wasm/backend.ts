import * as tf from '@tensorflow/tfjs';

/**
 * The parts of @tensorflow/tfjs-backend-wasm's `BackendWasm` that the training kernels use: its heap,
 * the table from a tensor's data id to where its bytes live, and the way it makes outputs.
 * Typed here because the package does not export these as public API.
 */
export interface WasmModule {
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
  HEAP32: Int32Array;
  tfjs: { disposeData(id: number): void };
}

export interface TensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: tf.DataType;
  refCount: number;
}

export interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: {
    get(dataId: object): TensorData | undefined;
    delete(dataId: object): boolean;
  };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  refCount(dataId: object): number;
}

/** What a kernel function receives from the engine, with the backend typed as the wasm backend. */
export interface KernelArgs<I, A> {
  inputs: I;
  backend: WasmBackend;
  attrs: A;
}

/** Turns a typed kernel function into the form `tf.registerKernel` takes. */
export function asKernelFunc<I, A>(
  f: (args: KernelArgs<I, A>) => tf.TensorInfo | tf.TensorInfo[],
): tf.KernelFunc {
  return f as unknown as tf.KernelFunc;
}

function data(backend: WasmBackend, t: tf.TensorInfo): TensorData {
  const found = backend.dataIdMap.get(t.dataId);
  if (!found) throw new Error('unforget wasm kernels: a tensor has no data on the wasm backend');
  return found;
}

/** Where the tensor's first byte lives on the wasm heap. */
export function offsetOf(backend: WasmBackend, t: tf.TensorInfo): number {
  return data(backend, t).memoryOffset;
}

/** A live Float32Array over the tensor's bytes; take it only after the kernel's last allocation. */
export function f32(backend: WasmBackend, t: tf.TensorInfo): Float32Array {
  const size = tf.util.sizeFromShape(t.shape);
  return new Float32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, t), size);
}

/** A live Int32Array over the tensor's bytes; take it only after the kernel's last allocation. */
export function i32(backend: WasmBackend, t: tf.TensorInfo): Int32Array {
  const size = tf.util.sizeFromShape(t.shape);
  return new Int32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, t), size);
}

/** The same bytes seen with another shape (no copy); release it with `release`. */
export function reshaped(backend: WasmBackend, t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  backend.incRef(t.dataId);
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** A fresh, uninitialised float32 tensor on the heap (zeroed when `zero`). */
export function alloc(backend: WasmBackend, shape: number[], zero = false): tf.TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  if (zero) f32(backend, out).fill(0);
  return out;
}

/**
 * A tensor that views `shape` floats of another tensor's memory, starting `elementOffset` floats
 * in, without a copy. It has its own id, so the backend's caches keyed on ids (XNNPACK operators
 * holding packed weights) never confuse it with another view. Release it with `releaseView`.
 */
export function view(
  backend: WasmBackend,
  t: tf.TensorInfo,
  elementOffset: number,
  shape: number[],
): tf.TensorInfo {
  return backend.makeOutput(shape, t.dtype, offsetOf(backend, t) + 4 * elementOffset);
}

/** Forgets a view made by `view` (its memory belongs to the tensor it views and stays). */
export function releaseView(backend: WasmBackend, v: tf.TensorInfo): void {
  const d = data(backend, v);
  backend.dataIdMap.delete(v.dataId);
  backend.wasm.tfjs.disposeData(d.id);
}

/** Drops an intermediate tensor made inside a kernel. */
export function release(backend: WasmBackend, ...ts: tf.TensorInfo[]): void {
  for (const t of ts) backend.disposeData(t.dataId);
}

const shipped = new Map<string, tf.KernelConfig>();

/** The kernel @tensorflow/tfjs-backend-wasm registered under `name`, before unforget replaced it. */
export function shippedKernel(name: string): tf.KernelConfig | undefined {
  if (!shipped.has(name)) {
    const config = tf.getKernel(name, 'wasm');
    if (config) shipped.set(name, config);
  }
  return shipped.get(name);
}

/** Calls another wasm kernel (the shipped one when unforget replaced it) from inside a kernel. */
export function callKernel(
  backend: WasmBackend,
  name: string,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown> = {},
): tf.TensorInfo {
  const config = shippedKernel(name) ?? tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`unforget wasm kernels: the wasm backend has no '${name}' kernel`);
  const out = config.kernelFunc({
    inputs: inputs as tf.NamedTensorInfoMap,
    backend: backend as unknown as tf.KernelBackend,
    attrs: attrs as tf.NamedAttrMap,
  });
  if (Array.isArray(out)) throw new Error(`unforget wasm kernels: '${name}' returned several tensors`);
  return out;
}
