/**
 * Moves a 4-D float array on the wasm heap into another axis order, in JavaScript. Not a kernel: the
 * convolution gradients use it to put batch and channels where the backend's Conv2D wants them.
 * `shape` is the source's shape, `perm[i]` the source axis that becomes output axis i. Output axes
 * may be cropped to `outShape` (the leading part of each axis is kept).
 */
export function permute4d(
  heap: Float32Array,
  from: number,
  to: number,
  shape: readonly number[],
  perm: readonly number[],
  outShape: readonly number[] = perm.map((p) => shape[p]),
): void {
  const srcStrides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  const [s0, s1, s2, s3] = perm.map((p) => srcStrides[p]);
  const [n0, n1, n2, n3] = outShape;
  let o = to;
  for (let i0 = 0; i0 < n0; i0++) {
    for (let i1 = 0; i1 < n1; i1++) {
      for (let i2 = 0; i2 < n2; i2++) {
        let s = from + i0 * s0 + i1 * s1 + i2 * s2;
        // A plain loop: copyWithin costs more than it saves on runs of a few dozen floats.
        for (let i3 = 0; i3 < n3; i3++, s += s3) heap[o++] = heap[s];
      }
    }
  }
}
