// What every Kinesis operation is given, and what it is.
import type { RequestInfo } from '../metrics.js';
import type { Action, Principal } from '../auth/scopes.js';
import type { Gateway } from '../gateway.js';
import type { Members } from './validation.js';

/** A request's members after their types and constraints were checked (blobs are Buffers, maps are Maps). */
export type Params = Record<string, unknown>;

export interface KinesisCall {
  gw: Gateway;
  params: Params;
  principal: Principal;
  client: string;
  /** What the access log says of this request (the records an append stored). */
  info?: RequestInfo;
  /** Throws AccessDeniedException unless the caller may `action` the stream. */
  authorize(stream: string, action: Action): void;
}

export interface Operation {
  /** The request's members, in the order AWS lists their validation errors. */
  input: Members;
  /** The response body, or undefined for operations that answer HTTP 200 with an empty body. */
  run(call: KinesisCall): Promise<object | undefined>;
}
