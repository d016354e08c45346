/** The "Compare methods" form: the strategy's options, reading the form, building the scenario it names. */
import {
  parseOptionValue,
  permuted,
  registry,
  scenarioCatalog,
  split,
  strategyEntry,
  taskPermutations,
  OptionError,
  type BackboneSpec,
  type BrowserBackend,
  type Dataset,
  type Scenario,
  type Setting,
} from '../../src/browser.js';
import { bundledMnist, taskFolderScenario } from '../data.js';
import { $, state, ui } from './state.js';

// ---------- strategy options ----------

function renderStrategyOptions(): void {
  const entry = strategyEntry(ui.strategy.value);
  ui.strategySummary.textContent = entry.summary + (entry.needsOldData ? ' — keeps the old tasks’ data' : '');
  ui.strategyOptions.replaceChildren(
    ...entry.options.map((o) => {
      const label = document.createElement('label');
      label.textContent = o.name;
      let input: HTMLInputElement | HTMLSelectElement;
      if (o.kind === 'choice') {
        const select = document.createElement('select');
        select.append(new Option('default', ''), ...(o.choices ?? []).map((c) => new Option(c, c)));
        input = select;
      } else if (o.kind === 'flag') {
        const box = document.createElement('input');
        box.type = 'checkbox';
        input = box;
      } else {
        const field = document.createElement('input');
        field.type = 'number';
        field.step = o.kind === 'integer' ? '1' : 'any';
        field.placeholder = 'default';
        input = field;
      }
      input.name = `option-${o.name}`;
      input.dataset.option = o.name;
      input.dataset.kind = o.kind;
      input.title = o.description;
      const help = document.createElement('span');
      help.className = 'help';
      help.textContent = ` ${o.description}`;
      label.append(help, input);
      return label;
    }),
  );
}

/** The options filled in, read by the library's own parser (the same as the command line's flags). */
function strategyOptionValues(): Record<string, number | string> {
  const entry = strategyEntry(ui.strategy.value);
  const out: Record<string, number | string> = {};
  for (const input of ui.strategyOptions.querySelectorAll<HTMLInputElement | HTMLSelectElement>(
    '[data-option]',
  )) {
    const name = input.dataset.option as string;
    // A flag's box gives 1 when ticked; unticked it is left to its default (off).
    const raw =
      input.type === 'checkbox' ? ((input as HTMLInputElement).checked ? '1' : '') : input.value.trim();
    if (raw === '') continue;
    const option = entry.options.find((o) => o.name === name);
    if (option) out[name] = parseOptionValue(option, raw);
  }
  return out;
}

export function initStrategyOptions(): void {
  for (const entry of registry) ui.strategy.append(new Option(`${entry.name}: ${entry.summary}`, entry.name));
  ui.strategy.addEventListener('change', renderStrategyOptions);
  renderStrategyOptions();
}

// ---------- the form ----------

function whole(input: HTMLInputElement, name: string, min: number, max = Infinity): number {
  const n = Number(input.value);
  if (input.value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    input.focus();
    throw new OptionError(
      `${name} must be a whole number ${max === Infinity ? `of at least ${min}` : `from ${min} to ${max}`}`,
    );
  }
  return n;
}

export interface Config {
  scenario: string;
  tasks: number;
  setting: Setting;
  strategy: string;
  options: Record<string, number | string>;
  backbone: BackboneSpec;
  iterations: number;
  batchSize: number;
  seed: number;
  backend: BrowserBackend;
}

export function readForm(): Config {
  const widths = ui.hidden.value.split(',').map((w) => Number(w.trim()));
  if (widths.length === 0 || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    ui.hidden.focus();
    throw new OptionError(
      'hidden widths must be positive whole numbers separated by commas, e.g. 100 or 256,128',
    );
  }
  const backbone: BackboneSpec =
    ui.backbone.value === 'cnn'
      ? { kind: 'cnn', filters: [8, 16], dense: widths[0] }
      : { kind: 'mlp', hidden: widths };
  return {
    scenario: ui.scenario.value,
    tasks: whole(ui.tasks, 'Tasks', 1, 10),
    setting: ui.setting.value as Setting,
    strategy: ui.strategy.value,
    options: strategyOptionValues(),
    backbone,
    iterations: whole(ui.iterations, 'Steps per task', 1, 100_000),
    batchSize: whole(ui.batch, 'Batch size', 1, 4096),
    seed: whole(ui.seed, 'Seed', 0),
    backend: ui.backendChoice.value as BrowserBackend,
  };
}

// The scenarios this page builds, named and described by the library's catalog (as on the command line).
const pageScenarios: Record<string, string> = {
  'split-mnist': 'Split MNIST',
  'permuted-mnist': 'Permuted MNIST',
  images: 'Your images',
};

const defaultTasks: Record<string, string> = { 'split-mnist': '5', 'permuted-mnist': '5', images: '2' };

/** The scenario to train, with the pixel order of each task (permuted) and the test images to sample. */
export async function buildScenario(
  config: Config,
): Promise<{ scenario: Scenario; permutations: Int32Array[] | null; samples: Dataset }> {
  if (config.scenario === 'images') {
    const images = state.images;
    if (!images) {
      throw new OptionError(
        'drop a folder of images first (one sub-folder per class), or pick one with Enter',
      );
    }
    const scenario = images.taskClasses
      ? taskFolderScenario(images, config.setting)
      : split(images.data, { name: 'images', tasks: config.tasks, setting: config.setting });
    return { scenario, permutations: null, samples: images.data.test };
  }
  ui.status.textContent = 'Fetching the bundled MNIST…';
  const data = await bundledMnist();
  if (config.scenario === 'permuted-mnist') {
    const scenario = permuted(data, {
      name: 'permuted-mnist',
      tasks: config.tasks,
      setting: config.setting,
      seed: config.seed,
    });
    return { scenario, permutations: taskPermutations(config.tasks, 784, config.seed), samples: data.test };
  }
  const scenario = split(data, { name: 'split-mnist', tasks: config.tasks, setting: config.setting });
  return { scenario, permutations: null, samples: data.test };
}

export function initForm(): void {
  ui.backbone.addEventListener('change', () => {
    const cnn = ui.backbone.value === 'cnn';
    $('hidden-label').textContent = cnn ? 'Dense width (after 8, 16 filters)' : 'Hidden widths';
    if (cnn) ui.hidden.value = ui.hidden.value.split(',')[0];
  });

  ui.scenario.replaceChildren(
    ...scenarioCatalog
      .filter((s) => s.name in pageScenarios)
      .map(
        (s) =>
          new Option(
            `${pageScenarios[s.name]}: ${s.summary.replace(/ \(--data folder,[^)]*\)/, '')}`,
            s.name,
          ),
      ),
  );

  ui.scenario.addEventListener('change', () => {
    ui.imagesBox.hidden = ui.scenario.value !== 'images';
    ui.tasks.value = defaultTasks[ui.scenario.value] ?? ui.tasks.value;
  });
}
