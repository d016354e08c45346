const t0 = performance.now();
const tf = await import('@tensorflow/tfjs');
const { useBackend, learner, train, strategies } = await import('../src/index.js');
const { namedScenario } = await import('../src/scenarios/named.js');
const mark = (s: string) => console.log(performance.now().toFixed(0).padStart(6), s);
mark(`imports (started at ${t0.toFixed(0)})`);
await useBackend('wasm');
mark('backend');
const scenario = await namedScenario('split-mnist').build({ setting: 'task', seed: 0 });
mark('scenario');
const model = learner({ backbone: { kind: 'mlp', hidden: [400, 400] }, scenario, seed: 0 });
mark('learner');
const times: number[] = [];
let last = 0;
const r = await train(model, scenario, (strategies as any).finetune(), {
  epochs: 4, batchSize: 128, seed: 0,
  onProgress: (p) => { times.push(p.stepMs); if (p.task !== last) { mark(`task ${last} done`); last = p.task; } },
  onTaskEnd: (t) => mark(`task ${t} end (evaluated)`),
});
mark('trained');
const first = times.slice(0, 10).map((x) => x.toFixed(1)).join(' ');
console.log('first 10 steps', first);
const sorted = [...times].sort((a, b) => a - b);
console.log('steps', times.length, 'median', sorted[times.length >> 1].toFixed(2), 'sum', times.reduce((a, b) => a + b, 0).toFixed(0), 'blas', JSON.stringify(r.workers));
const pct = (q: number) => sorted[Math.floor(q * (sorted.length - 1))].toFixed(1);
console.log('p10', pct(0.1), 'p50', pct(0.5), 'p75', pct(0.75), 'p90', pct(0.9), 'p95', pct(0.95), 'max', pct(1));
console.log('slow steps (>12ms) at', times.map((t, i) => [i, t] as const).filter(([, t]) => t > 12).map(([i, t]) => `${i}:${t.toFixed(0)}`).join(' '));
console.log('excess over median', times.reduce((a, t) => a + Math.max(0, t - sorted[times.length >> 1]), 0).toFixed(0), 'ms');
