// A Kinesis API error: its `__type` code, message and HTTP status (400 unless said otherwise).
import { SluiceError } from '../../errors.js';

/** The account id every Kinesis message and ARN names (Sluice has one account). */
export const ACCOUNT = '000000000000';

export class KinesisError extends SluiceError {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A SerializationException: a member's JSON type is not the one the operation takes. */
export const serialization = (message: string): KinesisError => new KinesisError('SerializationException', message);

/** An InvalidArgumentException, Kinesis' answer to a well-formed request it cannot carry out. */
export const invalidArgument = (message: string): KinesisError => new KinesisError('InvalidArgumentException', message);

/** The ResourceNotFoundException of a stream that does not exist. */
export const streamNotFound = (stream: string): KinesisError =>
  new KinesisError('ResourceNotFoundException', `Stream ${stream} under account ${ACCOUNT} not found.`);
