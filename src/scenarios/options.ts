import { OptionError } from '../errors.js';
import { settings, type Setting } from './types.js';

export function checkSetting(setting: string | undefined): Setting {
  const s = setting ?? 'task';
  if (!settings.includes(s as Setting)) {
    throw new OptionError(`unknown setting '${s}'; use one of: ${settings.join(', ')}`);
  }
  return s as Setting;
}

export function checkCount(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
    throw new OptionError(`${name} must be a whole number ${range}; got ${value}`);
  }
  return value;
}
