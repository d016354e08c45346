/**
 * Writes examples/shapes/: 28×28 grayscale PNGs of circles, squares and triangles (30 of each, seeded:
 * random size, place and noise), the image folder the README's walk-through teaches a learner.
 * Run with `node --import tsx scripts/make-example-images.ts`.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { seededRandom } from '../src/random.js';

const size = 28;
const perClass = 30;
const random = seededRandom(7);

type Inside = (x: number, y: number, cx: number, cy: number, r: number) => boolean;
const shapes: Record<string, Inside> = {
  circle: (x, y, cx, cy, r) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r,
  square: (x, y, cx, cy, r) => Math.abs(x - cx) <= r * 0.8 && Math.abs(y - cy) <= r * 0.8,
  triangle: (x, y, cx, cy, r) =>
    y <= cy + r * 0.8 && y >= cy - r && Math.abs(x - cx) <= ((y - (cy - r)) / (1.8 * r)) * r,
};

const out = join(import.meta.dirname, '..', 'examples', 'shapes');
await rm(out, { recursive: true, force: true });
for (const [name, inside] of Object.entries(shapes)) {
  await mkdir(join(out, name), { recursive: true });
  for (let k = 0; k < perClass; k++) {
    const r = 6 + random() * 5;
    const cx = r + 1 + random() * (size - 2 * r - 2);
    const cy = r + 1 + random() * (size - 2 * r - 2);
    const png = new PNG({ width: size, height: size, colorType: 0, inputColorType: 0, inputHasAlpha: false });
    const gray = Buffer.alloc(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const ink = inside(x + 0.5, y + 0.5, cx, cy, r) ? 220 : 10;
        gray[y * size + x] = Math.max(0, Math.min(255, Math.round(ink + (random() - 0.5) * 60)));
      }
    }
    png.data = gray;
    await writeFile(
      join(out, name, `${String(k + 1).padStart(2, '0')}.png`),
      PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }),
    );
  }
}
console.log(`wrote ${Object.keys(shapes).length * perClass} images to ${out}`);
