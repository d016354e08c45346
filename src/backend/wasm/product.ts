import * as tf from '@tensorflow/tfjs';
import {
  alloc,
  callKernel,
  offsetOf,
  release,
  releaseView,
  reshaped,
  view,
  type WasmBackend,
} from './backend.js';
import { activeNativeBlas } from './native-blas.js';

/**
 * The matrix product every training kernel here ends in: XNNPACK's fully-connected operator, which
 * the wasm backend reaches only for an untransposed, unbatched product. Not a kernel itself; the
 * BatchMatMul, _FusedMatMul and convolution-gradient kernels call it.
 */

/** Activation, bias and PReLU weights fused into the product, as the backend's _FusedMatMul takes them. */
export interface Epilogue {
  activation: number;
  biasId: number;
  /** Where the bias starts on the heap, in bytes (0: none); for the native path. */
  biasAt: number;
  preluId: number;
  leakyreluAlpha: number;
}

const pack = 3;

const plain: Epilogue = { activation: 0, biasId: 0, biasAt: 0, preluId: 0, leakyreluAlpha: 0 };

/** Whether the native BLAS addon can run this epilogue (bias and relu only). */
export function nativeEpilogue(epilogue: Epilogue): boolean {
  return epilogue.activation <= 1 && epilogue.preluId === 0;
}

type RawFusedMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  activation: number,
  biasId: number,
  preluId: number,
  leakyreluAlpha: number,
  outId: number,
) => void;

interface Cwrap {
  cwrap(name: string, ret: null, args: string[]): RawFusedMatMul;
}

const raws = new WeakMap<object, RawFusedMatMul>();

function rawFusedMatMul(backend: WasmBackend): RawFusedMatMul {
  let raw = raws.get(backend.wasm);
  if (!raw) {
    const n = 'number';
    raw = (backend.wasm as unknown as Cwrap).cwrap('_FusedMatMul', null, [
      ...[n, 'array', n, n, 'array', n],
      ...[n, n, n, n, n, n, n],
    ]);
    raws.set(backend.wasm, raw);
  }
  return raw;
}

function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

function idOf(backend: WasmBackend, t: tf.TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error('unforget wasm kernels: a tensor has no data on the wasm backend');
  return d.id;
}

/**
 * out[m×n] = x[m×k] · w[k×n] on XNNPACK. `w`'s id keys XNNPACK's cache of packed weights, so `w`
 * must be a tensor whose own memory is exactly k×n floats (a view, or a tensor created with that
 * size); `weightsOf` makes sure of that.
 */
function xnn(
  backend: WasmBackend,
  x: tf.TensorInfo,
  w: tf.TensorInfo,
  out: tf.TensorInfo,
  m: number,
  k: number,
  n: number,
  epilogue: Epilogue,
): void {
  rawFusedMatMul(backend)(
    idOf(backend, x),
    shapeBytes([1, m, k]),
    3,
    idOf(backend, w),
    shapeBytes([1, k, n]),
    3,
    false,
    false,
    epilogue.activation,
    epilogue.biasId,
    epilogue.preluId,
    epilogue.leakyreluAlpha,
    idOf(backend, out),
  );
}

/** A 2D operand: `rows`×`cols` floats stored row-major at `at` floats into tensor `t`. */
export interface Operand {
  t: tf.TensorInfo;
  at: number;
  rows: number;
  cols: number;
}

/** The whole of a tensor as one `rows`×`cols` operand. */
export function whole(t: tf.TensorInfo, rows: number, cols: number): Operand {
  return { t, at: 0, rows, cols };
}

/** A fresh tensor holding the operand transposed, by the backend's own Transpose kernel. */
function transposed(backend: WasmBackend, o: Operand): tf.TensorInfo {
  const entire = o.at === 0 && tf.util.sizeFromShape(o.t.shape) === o.rows * o.cols;
  const src = entire ? reshaped(backend, o.t, [o.rows, o.cols]) : view(backend, o.t, o.at, [o.rows, o.cols]);
  try {
    return callKernel(backend, tf.Transpose, { x: src }, { perm: [1, 0] });
  } finally {
    if (entire) release(backend, src);
    else releaseView(backend, src);
  }
}

/** The operand as a tensor XNNPACK may take as input (any id will do). */
function inputOf(backend: WasmBackend, o: Operand, scratch: tf.TensorInfo[]): tf.TensorInfo {
  if (o.at === 0) return o.t;
  const v = view(backend, o.t, o.at, [o.rows, o.cols]);
  scratch.push(v);
  return v;
}

/** The operand as a tensor XNNPACK may take as weights (an id that names exactly these floats). */
function weightsOf(backend: WasmBackend, o: Operand, scratch: tf.TensorInfo[]): tf.TensorInfo {
  const own = backend.dataIdMap.get(o.t.dataId);
  if (o.at === 0 && own && tf.util.sizeFromShape(own.shape) === o.rows * o.cols) {
    const s = own.shape;
    if (s.length >= 2 && s[s.length - 1] === o.cols) return o.t;
  }
  const v = view(backend, o.t, o.at, [o.rows, o.cols]);
  scratch.push(v);
  return v;
}

/**
 * Writes op(a)·op(b) into `out` at float `outAt` (m×n, row-major), where op transposes when asked.
 * XNNPACK only multiplies untransposed operands, so a transposed operand is first laid out
 * explicitly; when no epilogue is fused, the product may instead be computed transposed
 * (Cᵀ = op(b)ᵀ·op(a)ᵀ) and transposed back, whichever moves fewer floats.
 */
export function product(
  backend: WasmBackend,
  a: Operand,
  b: Operand,
  transposeA: boolean,
  transposeB: boolean,
  out: tf.TensorInfo,
  outAt: number,
  epilogue: Epilogue = plain,
): void {
  const m = transposeA ? a.cols : a.rows;
  const k = transposeA ? a.rows : a.cols;
  const n = transposeB ? b.rows : b.cols;
  const native = activeNativeBlas();
  if (native && nativeEpilogue(epilogue)) {
    // The system BLAS takes transposed operands as they are, on the heap itself.
    native.gemm(
      backend.wasm.HEAPU8.buffer as ArrayBuffer,
      transposeA ? 1 : 0,
      transposeB ? 1 : 0,
      m,
      n,
      k,
      offsetOf(backend, a.t) + 4 * a.at,
      offsetOf(backend, b.t) + 4 * b.at,
      offsetOf(backend, out) + 4 * outAt,
      epilogue.biasAt,
      epilogue.activation,
    );
    return;
  }
  // Floats moved by each plan: explicit transposes, plus XNNPACK packing the weights operand, which
  // costs about three transposes per float here (it creates a fresh operator for every new id).
  const direct = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + pack * k * n;
  const swapped = (transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + pack * k * m + 2 * m * n;
  const fused = epilogue.activation !== 0 || epilogue.biasId !== 0 || epilogue.preluId !== 0;
  const scratch: tf.TensorInfo[] = [];
  const temps: tf.TensorInfo[] = [];
  try {
    if (fused || direct <= swapped) {
      let x: tf.TensorInfo;
      let w: tf.TensorInfo;
      if (transposeA) {
        x = transposed(backend, a);
        temps.push(x);
      } else {
        x = inputOf(backend, a, scratch);
      }
      if (transposeB) {
        w = transposed(backend, b);
        temps.push(w);
      } else {
        w = weightsOf(backend, b, scratch);
      }
      const o =
        outAt === 0 && tf.util.sizeFromShape(out.shape) === m * n ? out : view(backend, out, outAt, [m, n]);
      if (o !== out) scratch.push(o);
      xnn(backend, x, w, o, m, k, n, epilogue);
    } else {
      // Cᵀ[n×m] = op(b)ᵀ[n×k] · op(a)ᵀ[k×m]; op(b)ᵀ is b as stored when transposeB, op(a)ᵀ is a as stored when transposeA.
      let x: tf.TensorInfo;
      let w: tf.TensorInfo;
      if (transposeB) {
        x = inputOf(backend, b, scratch);
      } else {
        x = transposed(backend, b);
        temps.push(x);
      }
      if (transposeA) {
        w = weightsOf(backend, a, scratch);
      } else {
        w = transposed(backend, a);
        temps.push(w);
      }
      const ct = alloc(backend, [n, m]);
      temps.push(ct);
      xnn(backend, x, w, ct, n, k, m, plain);
      const c = transposed(backend, whole(ct, n, m));
      temps.push(c);
      const at = offsetOf(backend, c) >> 2;
      backend.wasm.HEAPF32.copyWithin((offsetOf(backend, out) >> 2) + outAt, at, at + m * n);
    }
  } finally {
    for (const v of scratch) releaseView(backend, v);
    release(backend, ...temps);
  }
}
