// The NATS client objects the engine calls (KV buckets, the JetStream manager, the client),
// wrapped so that the methods named in a table go through the 'nats' dependency, each marked
// idempotent or compare-and-set. One table says what may be repeated; the code calling them reads
// as plain nats.js. Methods not named pass through (watchers, iterators after their first request).
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsRequests } from './requests.js';

type Kind = 'idempotent' | 'once';
type Rule = Kind | ((args: unknown[]) => Kind) | Table;
interface Table {
  [method: string]: Rule;
}

/** A KV bucket: reads and puts repeat safely; create, update and a delete at a revision are compare-and-set. */
const KV_TABLE: Table = {
  get: 'idempotent',
  put: 'idempotent',
  keys: 'idempotent',
  purge: 'idempotent',
  destroy: 'idempotent',
  create: 'once',
  update: 'once',
  delete: (args) => ((args[1] as { previousSeq?: number } | undefined)?.previousSeq ? 'once' : 'idempotent'),
};

/** The JetStream manager: stream admin and direct gets; adding an existing identical stream succeeds, so add repeats too. */
const JSM_TABLE: Table = {
  streams: { info: 'idempotent', add: 'idempotent', update: 'idempotent', purge: 'idempotent', delete: 'idempotent', deleteMessage: 'idempotent' },
  direct: { getMessage: 'idempotent' },
};

/** The client: a publish with a message id is dropped by JetStream when repeated within the window; one without is not. */
const JS_TABLE: Table = {
  publish: (args) => ((args[2] as { msgID?: string } | undefined)?.msgID ? 'idempotent' : 'once'),
};

export const guardKv = (kv: KV, requests: NatsRequests): KV => guard(kv, KV_TABLE, requests);
export const guardJsm = (jsm: JetStreamManager, requests: NatsRequests): JetStreamManager => guard(jsm, JSM_TABLE, requests);
export const guardJs = (js: JetStreamClient, requests: NatsRequests): JetStreamClient => guard(js, JS_TABLE, requests);

/** `target` with the methods of `table` through `requests` (nested objects, like `jsm.streams`, by their own table). */
function guard<T extends object>(target: T, table: Table, requests: NatsRequests): T {
  const nested = new Map<string, unknown>();
  return new Proxy(target, {
    get(t, p) {
      const value: unknown = Reflect.get(t, p, t);
      const rule = typeof p === 'string' && Object.hasOwn(table, p) ? table[p] : undefined;
      // nats.js keeps private fields: its methods run on the target itself
      if (rule === undefined || value === null || value === undefined) return typeof value === 'function' ? value.bind(t) : value;
      if (typeof rule === 'object') {
        let g = nested.get(p as string);
        if (!g) nested.set(p as string, (g = guard(value as object, rule, requests)));
        return g;
      }
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return (...args: unknown[]) => {
        const kind = typeof rule === 'function' ? rule(args) : rule;
        const run = () => method.apply(t, args);
        return kind === 'once' ? requests.once(run) : requests.run(run);
      };
    },
  });
}
