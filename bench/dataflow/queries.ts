// Nexmark-style queries (bids, auctions, persons) and their hand-written and RxJS equivalents.
// Each pipeline is exported so worker threads can load this module.
import { count, max, pipeline, sliding, tumbling } from '../../src/dataflow/index.js';

export interface Bid { auction: number; bidder: number; price: number; ts: number }
export interface Person { id: number; name: string; city: string; ts: number }
export interface Auction { id: number; seller: number; category: number; ts: number }

const SRC = { eventTime: (e: { ts: number }) => e.ts, outOfOrderness: '1s' } as const;
const DOLLAR_TO_EURO = 0.908;

/** q1: currency conversion (projection). */
export const q1 = pipeline('q1');
q1.source<Bid>('bids', SRC).map((b) => ({ auction: b.auction, bidder: b.bidder, price: Math.round(b.price * DOLLAR_TO_EURO), ts: b.ts })).to('q1-out');

/** q2: selection — bids on a few auctions. */
export const q2 = pipeline('q2');
q2.source<Bid>('bids', SRC).filter((b) => b.auction % 123 === 0).map((b) => ({ auction: b.auction, price: b.price })).to('q2-out');

/** q5: hot items — bids per auction over sliding 10 s windows every 2 s. */
export const q5 = pipeline('q5');
q5.source<Bid>('bids', SRC).keyBy((b) => b.auction).window(sliding('10s', '2s')).aggregate({ bids: count() }).toTable('q5');

/** q7: highest bid per tumbling 10 s window (per auction here, then max). */
export const q7 = pipeline('q7');
q7.source<Bid>('bids', SRC).keyBy((b) => b.auction % 64).window(tumbling('10s')).aggregate({ maxPrice: max((b) => b.price) }).toTable('q7');

/** q8: new users who opened an auction in the same 10 s window (windowed join on person id). */
export const q8 = pipeline('q8');
const persons = q8.source<Person>('persons', SRC).keyBy((p) => p.id);
q8.source<Auction>('auctions', SRC).keyBy((a) => a.seller).join(persons).window(tumbling('10s')).inner((a, p) => ({ id: p.id, name: p.name, reserve: a.category })).to('q8-out');

export const QUERIES = { q1, q2, q5, q7, q8 };

/** The same answers, computed by a plain loop over decoded events. */
export const hand = {
  q1: (bids: Bid[]) => bids.map((b) => ({ auction: b.auction, bidder: b.bidder, price: Math.round(b.price * DOLLAR_TO_EURO), ts: b.ts })).length,
  q2: (bids: Bid[]) => {
    let n = 0;
    for (const b of bids) if (b.auction % 123 === 0) n++;
    return n;
  },
  q5: (bids: Bid[]) => {
    const m = new Map<string, number>();
    for (const b of bids) {
      for (let s = b.ts - (b.ts % 2000); s > b.ts - 10_000; s -= 2000) {
        const k = `${b.auction}/${s}`;
        m.set(k, (m.get(k) ?? 0) + 1);
      }
    }
    return m.size;
  },
  q7: (bids: Bid[]) => {
    const m = new Map<string, number>();
    for (const b of bids) {
      const k = `${b.auction % 64}/${b.ts - (b.ts % 10_000)}`;
      m.set(k, Math.max(m.get(k) ?? -Infinity, b.price));
    }
    return m.size;
  },
  q8: (auctions: Auction[], persons: Person[]) => {
    const p = personsByWindow(persons);
    let n = 0;
    for (const a of auctions) n += p.get(`${a.seller}/${a.ts - (a.ts % 10_000)}`)?.length ?? 0;
    return n;
  },
};

/** Persons by `id/window start` (10 s windows), for q8's baselines. */
export function personsByWindow(persons: Person[]): Map<string, Person[]> {
  const m = new Map<string, Person[]>();
  for (const x of persons) {
    const k = `${x.id}/${x.ts - (x.ts % 10_000)}`;
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}
