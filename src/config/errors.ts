// The configuration's error, apart from its schema: the CLI tells it from others without loading zod and every component's schema.
import { SluiceError } from '../errors.js';

/** A configuration that does not validate: every bad field, one line each. */
export class ConfigError extends SluiceError {
  readonly code = 'InvalidConfig';
  constructor(readonly source: string, readonly issues: string[]) {
    super(`${source}: invalid configuration\n${issues.map((i) => `  - ${i}`).join('\n')}`);
  }
}
