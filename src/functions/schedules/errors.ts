// Errors of schedule triggers: one class per failure mode, each naming what was wrong.
import { SluiceError } from '../../errors.js';

/** A schedule expression that is not AWS's rate() or cron(), or a 5-field cron, Sluice can run. */
export class InvalidScheduleExpressionError extends SluiceError {
  readonly code = 'InvalidScheduleExpression';
  readonly field = 'schedule';
  constructor(
    readonly expression: string,
    message: string,
  ) {
    super(`schedule ${JSON.stringify(expression)}: ${message}`);
  }
}

/** A schedule option of the wrong type or value; `field` names it. */
export class InvalidScheduleOptionError extends SluiceError {
  readonly code = 'InvalidScheduleOption';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export const isInvalidScheduleExpressionError = (e: unknown): e is InvalidScheduleExpressionError => e instanceof InvalidScheduleExpressionError;
export const isInvalidScheduleOptionError = (e: unknown): e is InvalidScheduleOptionError => e instanceof InvalidScheduleOptionError;
