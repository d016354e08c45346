/**
 * One error type per kind of mistake. Every message names the problem and how to fix it.
 */
export class UnforgetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An option or argument has a value the library cannot use. */
export class OptionError extends UnforgetError {}

/** Data is missing, empty, undecodable or inconsistent (labels out of range, wrong shapes). */
export class DataError extends UnforgetError {}

/** A model does not fit what was asked of it (a missing layer, an input shape that does not match). */
export class ModelError extends UnforgetError {}

/** A task was asked for that the learner does not have or has not been trained on. */
export class TaskError extends UnforgetError {}

/** Training stopped because the loss became NaN or infinite. */
export class DivergenceError extends UnforgetError {}

/** Saving or loading a model or learner failed; the previous save is left as it was. */
export class PersistenceError extends UnforgetError {}
