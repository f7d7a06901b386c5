// Checks of option values, once, when a policy is built: the error names the field.
import { InvalidArgumentError } from '../engine/errors.js';

/** An integer ≥ `min` (default 1). */
export function checkInteger(component: string, field: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(`${component}.${field} must be an integer ≥ ${min}, got ${value}`, field);
  }
}

/** A finite number ≥ `min` (default 0). */
export function checkNumber(component: string, field: string, value: number, min = 0): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidArgumentError(`${component}.${field} must be a finite number ≥ ${min}, got ${value}`, field);
  }
}

/** A rate in (0, 1]. */
export function checkRate(component: string, field: string, value: number): void {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw new InvalidArgumentError(`${component}.${field} must be in (0, 1], got ${value}`, field);
  }
}

/** A rate in [0, 1]. */
export function checkFraction(component: string, field: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidArgumentError(`${component}.${field} must be in [0, 1], got ${value}`, field);
  }
}
