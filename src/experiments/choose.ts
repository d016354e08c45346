import { OptionError } from '../errors.js';
import { canonicalJson, type RunSpec } from './plan.js';
import { describeGridPoint, type GridPoint } from './grid.js';
import type { RunRecord } from './store.js';

/** The runs of one strategy at one point of its grid (one per seed); a strategy without a grid has one. */
export interface Variant {
  /** 'ewc', or the strategy with its grid point, e.g. 'ewc lambda=1e3': the table's column name. */
  name: string;
  strategy: string;
  /** The gridded options' values; empty without a grid. */
  point: GridPoint;
  records: RunRecord[];
}

/**
 * The name of the variant a run belongs to: its strategy, then its grid point if it has one.
 *
 * ```ts
 * variantName({ strategy: 'ewc', grid: { lambda: 1000 } }); // 'ewc lambda=1000'
 * variantName({ strategy: 'finetune' }); // 'finetune'
 * ```
 */
export function variantName(spec: Pick<RunSpec, 'strategy' | 'grid'>): string {
  const point = describeGridPoint(spec.grid ?? {});
  return point === '' ? spec.strategy : `${spec.strategy} ${point}`;
}

/**
 * The runs grouped by strategy and grid point: strategies in the order of `order` (then as they
 * first appear), each strategy's points in the order they first appear (the plan's order).
 *
 * ```ts
 * variantsOf(out.records, ['finetune', 'ewc']).map((v) => [v.name, v.records.length]);
 * // [['finetune', 3], ['ewc lambda=100', 3], ['ewc lambda=1000', 3]]
 * ```
 */
export function variantsOf(records: readonly RunRecord[], order: readonly string[] = []): Variant[] {
  const byKey = new Map<string, Variant>();
  for (const record of records) {
    const { strategy, grid = {} } = record.spec;
    const key = canonicalJson([strategy, grid]);
    const found = byKey.get(key);
    if (found) found.records.push(record);
    else byKey.set(key, { name: variantName(record.spec), strategy, point: { ...grid }, records: [record] });
  }
  const strategies = [...new Set([...order, ...records.map((r) => r.spec.strategy)])];
  const variants = [...byKey.values()];
  return strategies.flatMap((s) => variants.filter((v) => v.strategy === s));
}

/**
 * A variant's mean validation ACC over its seeds; throws an OptionError when a run has none.
 *
 * ```ts
 * variantsOf(records).map(validationAccuracy); // [0.981, 0.986]
 * ```
 */
export function validationAccuracy(variant: Variant): number {
  const values = variant.records.map((r) => {
    const acc = r.result.validation?.averageAccuracy;
    if (typeof acc !== 'number') {
      throw new OptionError(
        `run ${r.spec.id} has no validation accuracy, so options cannot be chosen on it: ` +
          'run the comparison with a validation share (--choose validation holds out 10% of each task by default)',
      );
    }
    return acc;
  });
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * For each strategy, the variant (grid point) with the best mean validation ACC over its seeds; on a
 * tie, the first in grid order. Only the runs' specs and `result.validation` are read: test accuracy
 * takes no part in the choice. Returns the chosen variant of each strategy, in `variants`' order.
 *
 * ```ts
 * const chosen = chooseOnValidation(variantsOf(records));
 * chosen.map((v) => v.name); // ['finetune', 'ewc lambda=1e3']
 * ```
 */
export function chooseOnValidation(variants: readonly Variant[]): Variant[] {
  const best = new Map<string, { variant: Variant; accuracy: number }>();
  for (const variant of variants) {
    const accuracy = validationAccuracy(variant);
    const current = best.get(variant.strategy);
    if (!current || accuracy > current.accuracy) best.set(variant.strategy, { variant, accuracy });
  }
  return [...best.values()].map((b) => b.variant);
}
