// The `context` a handler receives: Lambda's Node.js fields (and its legacy succeed/fail/done),
// plus `sluice`, a client for the function's own streams.
import type { SluiceClient } from './sluice-client.js';
import type { WorkerInit } from './protocol.js';

/** Lambda's Node.js context, as handlers see it (the `aws-lambda` package's Context, plus `sluice`). */
export interface LambdaContext {
  /**
   * Callback handlers only. True (the default): after `callback(null, result)` the result is returned
   * once the worker's event loop holds nothing the handler started (timers, sockets, requests), as
   * in Lambda — a connection left open makes the invocation time out. False: returned at once; what
   * is still pending carries on in the warm worker, as in a frozen and thawed Lambda sandbox.
   * Async handlers' results are returned when their promise settles, whatever this says.
   */
  callbackWaitsForEmptyEventLoop: boolean;
  readonly functionName: string;
  /** Always '$LATEST'. */
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  /** As Lambda gives it: a string ("128"). */
  readonly memoryLimitInMB: string;
  readonly awsRequestId: string;
  /** `/aws/lambda/<name>`. */
  readonly logGroupName: string;
  /** One per worker: `2025/01/31/[$LATEST]<32 hex>`. */
  readonly logStreamName: string;
  readonly identity?: unknown;
  readonly clientContext?: unknown;
  /** Milliseconds until the invocation's deadline (negative once past it). */
  getRemainingTimeInMillis(): number;
  /** Legacy: end the invocation now with this result or error. */
  succeed(result?: unknown): void;
  fail(error?: unknown): void;
  done(error?: unknown, result?: unknown): void;
  /** Appends to Sluice streams with the function's own key (its permissions, and no more). */
  readonly sluice: SluiceClient;
}

/** A handler's callback: `callback(error)` fails the invocation, `callback(null, result)` succeeds. */
export type LambdaCallback = (error?: unknown, result?: unknown) => void;

/** How the context reports back to the invocation that owns it. */
export interface ContextHooks {
  /** Ends the invocation now (the first call wins). */
  done(error: unknown, result: unknown): void;
}

/** Builds one invocation's context. */
export function createContext(
  init: WorkerInit,
  requestId: string,
  deadline: number,
  clientContext: unknown,
  identity: unknown,
  sluice: SluiceClient,
  hooks: ContextHooks,
): LambdaContext {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: init.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: init.arn,
    memoryLimitInMB: String(init.memoryMB),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${init.name}`,
    logStreamName: init.logStreamName,
    identity,
    clientContext,
    getRemainingTimeInMillis: () => deadline - Date.now(),
    succeed: (result) => hooks.done(null, result),
    // Lambda: fail() with nothing fails with the string 'handled'.
    fail: (error) => hooks.done(error ?? 'handled', null),
    done: (error, result) => hooks.done(error, result),
    sluice,
  };
}
