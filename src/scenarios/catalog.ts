/**
 * The scenarios the command line and the web page know by name, with a line on each: browser-safe (no
 * data loaders), so the page lists the same names and words as `unforget run --help`.
 */
export interface ScenarioInfo {
  readonly name: string;
  readonly summary: string;
}

export const scenarioCatalog: readonly ScenarioInfo[] = [
  { name: 'split-mnist', summary: 'bundled MNIST, digits split into tasks (default 5 tasks: 0/1, 2/3, …)' },
  { name: 'permuted-mnist', summary: 'bundled MNIST, a fixed pixel permutation per task (default 10 tasks)' },
  {
    name: 'rotated-mnist',
    summary: 'bundled MNIST, a fixed rotation per task (default 5 tasks, 0° to 144°)',
  },
  { name: 'mnist-transfer', summary: 'bundled MNIST, an old task (digits 0-4) then a new one (digits 5-9)' },
  {
    name: 'split-fashion',
    summary: 'Fashion-MNIST (Debian dataset-fashion-mnist, or --data), classes split into tasks (default 5)',
  },
  {
    name: 'permuted-fashion',
    summary: 'Fashion-MNIST, a fixed pixel permutation per task (default 10 tasks)',
  },
  {
    name: 'fashion-to-mnist',
    summary: 'a network learns clothing (Fashion-MNIST) first, then the bundled digits',
  },
  {
    name: 'mnist-to-fashion',
    summary: 'a network learns the bundled digits first, then clothing (Fashion-MNIST)',
  },
  {
    name: 'images',
    summary:
      'your images (--data folder, one sub-folder per class, 28×28 grayscale), classes split into tasks (default 2)',
  },
];

/** The catalog's line on `name`. */
export function scenarioSummary(name: string): string {
  const found = scenarioCatalog.find((s) => s.name === name);
  if (!found) throw new Error(`the scenario catalog has no '${name}'`);
  return found.summary;
}
