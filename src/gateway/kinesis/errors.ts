// A Kinesis API error: its `__type` code, message and HTTP status (400 unless said otherwise).

export class KinesisError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'KinesisError';
  }
}

/** The "1 validation error detected" message Kinesis gives for a constraint on one member. */
export const validation = (member: string, constraint: string): KinesisError =>
  new KinesisError('ValidationException', `1 validation error detected: Value at '${member}' failed to satisfy constraint: ${constraint}`);
