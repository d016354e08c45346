import { OptionError } from '../errors.js';
import type { StrategyEntry } from './entry.js';
import {
  ewc,
  ewcEntry,
  onlineEwc,
  onlineEwcEntry,
  type EwcOptions,
  type EwcStrategy,
  type OnlineEwcOptions,
} from './ewc.js';
import { featureExtraction, featureExtractionEntry } from './feature-extraction.js';
import { finetune, finetuneEntry, type FinetuneOptions } from './finetune.js';
import {
  diagonalFisher,
  type FisherLabels,
  type FisherMethod,
  type FisherOptions,
  type FisherResult,
} from './fisher.js';
import { joint, jointEntry } from './joint.js';
import { lwf, lwfEntry, type LwfOptions, type LwfStrategy } from './lwf.js';
import { packnet, packnetEntry, type PacknetOptions, type PacknetStrategy } from './packnet.js';
import { piggyback, piggybackEntry, type PiggybackOptions, type PiggybackStrategy } from './piggyback.js';
import { replay, replayEntry, type ReplayOptions, type ReplayStrategy } from './replay.js';
import { si, siEntry, type SiOptions, type SiStrategy } from './si.js';

export {
  finetune,
  featureExtraction,
  joint,
  lwf,
  ewc,
  onlineEwc,
  si,
  replay,
  diagonalFisher,
  packnet,
  piggyback,
};
export type {
  FinetuneOptions,
  LwfOptions,
  LwfStrategy,
  EwcOptions,
  OnlineEwcOptions,
  EwcStrategy,
  FisherLabels,
  FisherMethod,
  FisherOptions,
  FisherResult,
  PacknetOptions,
  PacknetStrategy,
  PiggybackOptions,
  PiggybackStrategy,
  ReplayOptions,
  ReplayStrategy,
  SiOptions,
  SiStrategy,
};

export type { StrategyEntry, StrategyOption } from './entry.js';
export { flagOption, parseOptionValue } from './entry.js';

/** Every strategy by name, in the order they are compared: each method's file exports its entry. */
export const registry: readonly StrategyEntry[] = [
  finetuneEntry,
  featureExtractionEntry,
  jointEntry,
  lwfEntry,
  ewcEntry,
  onlineEwcEntry,
  siEntry,
  replayEntry,
  packnetEntry,
  piggybackEntry,
];

/** Looks a strategy up by name; the error lists the names there are. */
export function strategyEntry(name: string): StrategyEntry {
  const entry = registry.find((e) => e.name.toLowerCase() === name.toLowerCase());
  if (!entry) {
    throw new OptionError(
      `unknown strategy '${name}'; use one of: ${registry.map((e) => e.name).join(', ')}`,
    );
  }
  return entry;
}
