/** The drawing pad: strokes with a mouse, finger or pen, turned into a 28×28 MNIST-like image. */

export interface DrawPad {
  clear(): void;
  /** Shows a 28×28 image (values in [0, 1]) on the pad, e.g. a test example. */
  show(pixels: Float32Array): void;
  /** The pad as 28×28 values in [0, 1]: cropped, scaled into 20×20 and centred by mass, as MNIST is. */
  pixels(): Float32Array | null;
}

/** Sets up `canvas` for drawing; `onChange` runs when a stroke ends. */
export function drawPad(canvas: HTMLCanvasElement, onChange: () => void): DrawPad {
  const g = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  let last: { x: number; y: number } | null = null;
  let inked = false;
  /** A test image shown as it is: its pixels are used unchanged until someone draws over it. */
  let exact: Float32Array | null = null;

  const clear = () => {
    g.fillStyle = '#000';
    g.fillRect(0, 0, canvas.width, canvas.height);
    inked = false;
    exact = null;
  };
  clear();

  const at = (e: PointerEvent) => {
    const box = canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - box.left) / box.width) * canvas.width,
      y: ((e.clientY - box.top) / box.height) * canvas.height,
    };
  };
  const line = (to: { x: number; y: number }) => {
    g.strokeStyle = '#fff';
    g.lineWidth = canvas.width / 13;
    g.lineCap = 'round';
    g.lineJoin = 'round';
    g.beginPath();
    g.moveTo((last ?? to).x, (last ?? to).y);
    g.lineTo(to.x + 0.01, to.y);
    g.stroke();
    last = to;
    inked = true;
    exact = null;
  };
  canvas.addEventListener('pointerdown', (e) => {
    e.preventDefault(); // a finger draws instead of scrolling the page
    try {
      canvas.setPointerCapture(e.pointerId);
    } catch {
      // A pointer the browser no longer tracks cannot be captured; the stroke is drawn all the same.
    }
    last = null;
    line(at(e));
  });
  canvas.addEventListener('pointermove', (e) => {
    if (last) line(at(e));
  });
  const end = () => {
    if (!last) return;
    last = null;
    onChange();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  return {
    clear,
    show(pixels) {
      const small = document.createElement('canvas');
      small.width = small.height = 28;
      const s = small.getContext('2d') as CanvasRenderingContext2D;
      const image = s.createImageData(28, 28);
      for (let i = 0; i < 784; i++) {
        const v = Math.round(pixels[i] * 255);
        image.data.set([v, v, v, 255], i * 4);
      }
      s.putImageData(image, 0, 0);
      g.imageSmoothingEnabled = false;
      g.drawImage(small, 0, 0, canvas.width, canvas.height);
      inked = true;
      exact = Float32Array.from(pixels);
    },
    pixels() {
      if (!inked) return null;
      if (exact) return exact;
      return toMnist(g.getImageData(0, 0, canvas.width, canvas.height));
    },
  };
}

/** Crops the ink, scales it to fit 20×20 (keeping its shape), and centres its mass in 28×28. */
export function toMnist(image: ImageData): Float32Array | null {
  const { width, height, data } = image;
  let top = height;
  let bottom = -1;
  let left = width;
  let right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[(y * width + x) * 4] > 20) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  if (bottom < 0) return null;
  const w = right - left + 1;
  const h = bottom - top + 1;
  const scale = 20 / Math.max(w, h);
  const box = document.createElement('canvas');
  box.width = box.height = 28;
  const b = box.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  b.fillStyle = '#000';
  b.fillRect(0, 0, 28, 28);
  const source = document.createElement('canvas');
  source.width = width;
  source.height = height;
  (source.getContext('2d') as CanvasRenderingContext2D).putImageData(image, 0, 0);
  b.imageSmoothingEnabled = true;
  b.imageSmoothingQuality = 'high';
  const dw = w * scale;
  const dh = h * scale;
  b.drawImage(source, left, top, w, h, (28 - dw) / 2, (28 - dh) / 2, dw, dh);
  const small = b.getImageData(0, 0, 28, 28).data;
  const gray = new Float32Array(784);
  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < 784; i++) {
    const v = small[i * 4] / 255;
    gray[i] = v;
    mass += v;
    cx += v * (i % 28);
    cy += v * Math.floor(i / 28);
  }
  // Shift so the centre of mass lands on the centre of the 28×28 field, as in MNIST.
  const dx = Math.round(13.5 - cx / mass);
  const dy = Math.round(13.5 - cy / mass);
  const out = new Float32Array(784);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const sx = x - dx;
      const sy = y - dy;
      if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) out[y * 28 + x] = gray[sy * 28 + sx];
    }
  }
  return out;
}
