/** The page's three live views of a run: the loss curve, the accuracy matrix and one line per task. */

/** A loss value and the task whose training produced it. */
export interface LossPoint {
  task: number;
  loss: number;
}

const palette = ['#1d4ed8', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490', '#a16207', '#be185d'];
export const taskColor = (task: number): string => palette[task % palette.length];

/** Draws the loss of every step so far, coloured by task, on a log-free linear scale from 0. */
export function drawLoss(canvas: HTMLCanvasElement, points: readonly LossPoint[]): void {
  const g = canvas.getContext('2d');
  if (!g) return;
  // Draw at the size the canvas is shown, so the text stays readable on a phone.
  const ratio = window.devicePixelRatio || 1;
  const shown = canvas.clientWidth || 560;
  const width = shown;
  const height = Math.round(Math.min(180, Math.max(140, shown * 0.35)));
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  const pad = { left: 40, right: 8, top: 8, bottom: 20 };
  g.clearRect(0, 0, width, height);
  g.fillStyle = '#fff';
  g.fillRect(0, 0, width, height);
  const max = Math.max(0.1, ...points.map((p) => (Number.isFinite(p.loss) ? p.loss : 0)));
  const x = (i: number) => pad.left + (i / Math.max(1, points.length - 1)) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / max) * (height - pad.top - pad.bottom);
  g.strokeStyle = '#d0d7de';
  g.fillStyle = '#57606a';
  g.font = '11px system-ui, sans-serif';
  g.lineWidth = 1;
  for (const v of [0, max / 2, max]) {
    g.beginPath();
    g.moveTo(pad.left, y(v));
    g.lineTo(width - pad.right, y(v));
    g.stroke();
    g.fillText(v.toFixed(2), 4, y(v) + 4);
  }
  g.fillText(points.length === 0 ? 'no steps yet' : `${points.length} steps`, pad.left, height - 5);
  g.lineWidth = 1.5;
  for (let i = 1; i < points.length; i++) {
    if (points[i].task !== points[i - 1].task) continue;
    g.strokeStyle = taskColor(points[i].task);
    g.beginPath();
    g.moveTo(x(i - 1), y(points[i - 1].loss));
    g.lineTo(x(i), y(points[i].loss));
    g.stroke();
  }
}

/** A background from red (0%) through yellow to green (100%), light enough for dark text. */
function shade(accuracy: number): string {
  const hue = Math.round(120 * Math.max(0, Math.min(1, accuracy)));
  return `hsl(${hue} 70% 85%)`;
}

/** Fills the accuracy matrix: a header of task names and one row per task learned so far. */
export function renderMatrix(
  table: HTMLTableElement,
  taskNames: readonly string[],
  rows: readonly (readonly number[])[],
): void {
  const head = table.tHead ?? table.createTHead();
  const body = table.tBodies[0] ?? table.createTBody();
  head.replaceChildren();
  body.replaceChildren();
  if (taskNames.length === 0) return;
  const top = head.insertRow();
  const corner = document.createElement('th');
  corner.scope = 'col';
  corner.innerHTML = '<span class="wide-only">after \\ on</span>';
  corner.title = 'rows: after learning the task; columns: tested on the task';
  top.append(corner);
  taskNames.forEach((name, j) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = `T${j + 1}`;
    th.title = name;
    top.append(th);
  });
  rows.forEach((row, i) => {
    const tr = body.insertRow();
    tr.dataset.task = String(i);
    const th = document.createElement('th');
    th.scope = 'row';
    // The full name where there is room; 'T1' on a phone (the title keeps the full name).
    const full = document.createElement('span');
    full.className = 'wide-only';
    full.textContent = taskNames[i];
    const short = document.createElement('span');
    short.className = 'narrow-only';
    short.textContent = `T${i + 1}`;
    th.title = taskNames[i];
    th.append(full, short);
    tr.append(th);
    row.forEach((a, j) => {
      const td = tr.insertCell();
      td.textContent = `${(a * 100).toFixed(1)}%`;
      td.dataset.accuracy = String(a);
      // Tasks not learned yet show their accuracy greyed: it is chance, not memory.
      td.style.background = j <= i ? shade(a) : '#f6f8fa';
      if (j > i) td.style.color = '#8c959f';
    });
  });
}

const svgNs = 'http://www.w3.org/2000/svg';

function svgEl<K extends keyof SVGElementTagNameMap>(
  name: K,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(svgNs, name);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, String(v));
  return el;
}

/** One line per task: its test accuracy after each task learned from its own on. */
export function drawLines(svg: SVGSVGElement, taskCount: number, rows: readonly (readonly number[])[]): void {
  const width = 480;
  const height = 220;
  const pad = { left: 46, right: 44, top: 12, bottom: 30 };
  svg.replaceChildren();
  const x = (i: number) => pad.left + (i / Math.max(1, taskCount - 1)) * (width - pad.left - pad.right);
  const y = (a: number) => pad.top + (1 - a) * (height - pad.top - pad.bottom);
  for (const a of [0, 0.5, 1]) {
    svg.append(
      svgEl('line', { x1: pad.left, x2: width - pad.right, y1: y(a), y2: y(a), stroke: '#d0d7de' }),
      Object.assign(svgEl('text', { x: 4, y: y(a) + 4, 'font-size': 14, fill: '#57606a' }), {
        textContent: `${a * 100}%`,
      }),
    );
  }
  for (let i = 0; i < taskCount; i++) {
    svg.append(
      Object.assign(
        svgEl('text', { x: x(i), y: height - 8, 'font-size': 14, fill: '#57606a', 'text-anchor': 'middle' }),
        { textContent: `after T${i + 1}` },
      ),
    );
  }
  for (let task = 0; task < taskCount; task++) {
    const points = rows.slice(task).map((row, k) => [x(task + k), y(row[task])] as const);
    if (points.length === 0) continue;
    const color = taskColor(task);
    if (points.length > 1) {
      svg.append(
        svgEl('polyline', {
          points: points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' '),
          fill: 'none',
          stroke: color,
          'stroke-width': 2,
        }),
      );
    }
    for (const [px, py] of points) svg.append(svgEl('circle', { cx: px, cy: py, r: 3.5, fill: color }));
  }
  // Each line's name at its last point, nudged apart so that lines ending together stay readable.
  const labels = Array.from({ length: Math.min(taskCount, rows.length) }, (_, task) => ({
    task,
    x: x(rows.length - 1),
    y: y(rows[rows.length - 1][task]) + 4,
  })).sort((a, b) => a.y - b.y);
  labels.forEach((label, i) => {
    if (i > 0) label.y = Math.max(label.y, labels[i - 1].y + 15);
  });
  // If the pile ran past the bottom, lift it back up, keeping the spacing.
  const bottom = height - pad.bottom + 4;
  for (let i = labels.length - 1; i >= 0; i--) {
    const limit = i === labels.length - 1 ? bottom : labels[i + 1].y - 15;
    labels[i].y = Math.min(labels[i].y, limit);
  }
  labels.forEach((label) => {
    svg.append(
      Object.assign(
        svgEl('text', { x: label.x + 8, y: label.y, 'font-size': 15, fill: taskColor(label.task) }),
        { textContent: `T${label.task + 1}` },
      ),
    );
  });
}
