/**
 * Bilinear resize with half-pixel centres (as TensorFlow's `resizeBilinear` without corner alignment)
 * of an h × w image of interleaved channels to height × width, written into `out`; values are clamped
 * to [0, 1] when `clamp` says so.
 */
export function resizeBilinear(
  plane: Float32Array,
  [h, w]: readonly [number, number],
  [height, width]: readonly [number, number],
  channels: number,
  out: Float32Array,
  clamp = false,
): void {
  const scaleY = h / height;
  const scaleX = w / width;
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.max((y + 0.5) * scaleY - 0.5, 0), h - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(Math.max((x + 0.5) * scaleX - 0.5, 0), w - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, w - 1);
      const fx = sx - x0;
      for (let c = 0; c < channels; c++) {
        const at = (yy: number, xx: number): number => plane[(yy * w + xx) * channels + c];
        const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
        const bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
        const value = top + (bottom - top) * fy;
        out[(y * width + x) * channels + c] = clamp ? Math.min(1, Math.max(0, value)) : value;
      }
    }
  }
}
