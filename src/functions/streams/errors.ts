// Errors of stream event source mappings: one class per failure mode, each naming what was wrong.
import { SluiceError } from '../../errors.js';

/** A mapping option is missing, of the wrong type or out of Lambda's range; `field` names it. */
export class InvalidMappingOptionError extends SluiceError {
  readonly code = 'InvalidMappingOption';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** A filterCriteria pattern is not a valid EventBridge pattern; `field` is where, `path` the key inside it. */
export class InvalidFilterPatternError extends SluiceError {
  readonly code = 'InvalidFilterPattern';
  constructor(
    readonly field: string,
    readonly path: string,
    message: string,
  ) {
    super(`${field}${path ? ` at ${path}` : ''}: ${message}`);
  }
}

/** The onFailure destination stream does not exist (checked when the mapping starts). */
export class DestinationNotFoundError extends SluiceError {
  readonly code = 'DestinationNotFound';
  constructor(
    readonly functionName: string,
    readonly destination: string,
  ) {
    super(`function '${functionName}': onFailure destination stream '${destination}' does not exist`);
  }
}

/** Guards, for callers that branch on the failure mode. */
export const isInvalidMappingOptionError = (e: unknown): e is InvalidMappingOptionError => e instanceof InvalidMappingOptionError;
export const isInvalidFilterPatternError = (e: unknown): e is InvalidFilterPatternError => e instanceof InvalidFilterPatternError;
export const isDestinationNotFoundError = (e: unknown): e is DestinationNotFoundError => e instanceof DestinationNotFoundError;
