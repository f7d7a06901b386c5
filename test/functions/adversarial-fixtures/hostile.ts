// Handlers that misbehave on request: what a broken or hostile function returns, throws or does.
import { existsSync, writeSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

type Event = { do?: string; n?: number; file?: string; rawPath?: string; body?: string; isBase64Encoded?: boolean };

export const handler = async (event: Event, context: { clientContext?: unknown; identity?: unknown; awsRequestId: string }): Promise<unknown> => {
  const what = event.do ?? (event.rawPath ? event.rawPath.slice(1) : 'echo');
  switch (what) {
    case 'echo':
      return event;
    case 'context':
      return { clientContext: context.clientContext ?? null, identity: context.identity ?? null };
    case 'log-context':
      console.log(JSON.stringify({ clientContext: context.clientContext ?? null }));
      return 'logged';
    case 'hold': // holds its concurrency slot until the test creates event.file
      while (!existsSync(event.file!)) await delay(10);
      return 'released';
    case 'raw': // output the in-worker capture cannot see: straight to fd 1
      for (let i = 0; i < (event.n ?? 5_000); i++) writeAll(1, `${'y'.repeat(999)}\n`);
      return 'wrote';
    case 'huge':
      return 'x'.repeat(event.n ?? 7 * 1024 * 1024);
    case 'log':
      for (let i = 0; i < (event.n ?? 100_000); i++) console.log('x'.repeat(1000));
      return 'logged';
    case 'pollute':
      (Object.prototype as Record<string, unknown>).polluted = 'yes';
      return 'polluted';
    case 'polluted':
      return { polluted: ({} as Record<string, unknown>).polluted ?? null };
    case 'getter': {
      const e = {};
      Object.defineProperty(e, 'message', { get() { throw new Error('no message for you'); } });
      Object.defineProperty(e, 'name', { get() { throw new Error('no name for you'); } });
      throw e;
    }
    case 'null':
      throw null;
    case 'respond': // a function URL's request body is the result to answer with
      return JSON.parse(event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString() : (event.body ?? 'null'));
    case 'deep': {
      let v: unknown = [];
      for (let i = 0; i < (event.n ?? 100_000); i++) v = [v];
      return v;
    }
    default:
      return what;
  }
};

/** Writes all of `text` to `fd`, waiting out EAGAIN (a pipe's O_NONBLOCK end, full). */
function writeAll(fd: number, text: string): void {
  let left = Buffer.from(text);
  while (left.length) {
    try {
      left = left.subarray(writeSync(fd, left));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/** A callback handler that misuses its callback. */
export const callback = (event: Event, _context: unknown, cb: (error?: unknown, result?: unknown) => void): Promise<unknown> | void => {
  switch (event.do) {
    case 'twice':
      cb(null, 'first');
      cb(null, 'second');
      return;
    case 'error-then-ok':
      cb(new Error('first'));
      cb(null, 'second');
      return;
    case 'reject-after':
      cb(null, 'called back');
      return Promise.reject(new Error('rejected after the callback'));
    case 'interval':
      setInterval(() => {}, 1000);
      cb(null, 'with an interval');
      return;
    default:
      cb(null, event.do ?? 'ok');
  }
};
