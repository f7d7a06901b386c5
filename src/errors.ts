// The base of every error Sluice raises: a stable `code`, and whether retrying can help.
// HTTP statuses are chosen at the gateway edge only (src/gateway/http-error.ts).

export abstract class SluiceError extends Error {
  abstract readonly code: string;
  /** True when the same call may succeed later without change (overload, unavailable engine). */
  readonly retriable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Returns true when `e` is a SluiceError that is worth retrying. */
export const isRetriable = (e: unknown): boolean => e instanceof SluiceError && e.retriable;
