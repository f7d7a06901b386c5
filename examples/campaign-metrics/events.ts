// The campaign-metrics event model and a deterministic traffic model: Zipf-skewed campaigns (a
// few very hot), bots, out-of-order events, some minutes late and some hours late. The same seed
// gives the same events, so a test can recompute the expected table by brute force.

/** An ad was served. `score` is an internal bidding field the pipeline drops. */
export interface AdServed { eventId: string; adId: string; campaignId: string; ip: string; score: number; ts: number }
/** A view or click of a served ad. */
export interface AdEvent { eventId: string; adId: string; ip: string; ts: number }

export const STREAMS = { ads: 'ad-served', views: 'ad-views', clicks: 'ad-clicks' } as const;
export const BOT_NET = '203.0.113.'; // TEST-NET-3: the bot farm of this example

export const isBot = (ip: string) => ip.startsWith(BOT_NET);

export interface TrafficOptions {
  seed?: number;
  campaigns?: number;
  /** Zipf exponent: 1.2 puts roughly a third of the traffic on the hottest campaign. */
  skew?: number;
  /** Share of views and clicks sent a few minutes late, and hours late. */
  minutesLate?: number;
  hoursLate?: number;
}

export type Event = { stream: 'ad-served'; value: AdServed } | { stream: 'ad-views' | 'ad-clicks'; value: AdEvent };

/** mulberry32: a small seeded PRNG (deterministic traffic). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Traffic {
  private readonly random: () => number;
  private readonly cdf: number[];
  private seq = 0;
  private readonly recentAds: AdServed[] = [];
  private readonly held: { due: number; event: Event }[] = [];

  constructor(private readonly o: TrafficOptions = {}) {
    this.random = rng(o.seed ?? 1);
    const n = o.campaigns ?? 40;
    const s = o.skew ?? 1.2;
    const w = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
    const total = w.reduce((a, b) => a + b, 0);
    let acc = 0;
    this.cdf = w.map((x) => (acc += x / total));
  }

  private campaign(): string {
    const u = this.random();
    const i = this.cdf.findIndex((c) => u <= c);
    return `campaign-${String(i < 0 ? this.cdf.length - 1 : i).padStart(2, '0')}`;
  }

  private ip(): string {
    return this.random() < 0.04 ? `${BOT_NET}${Math.floor(this.random() * 250)}` : `10.${Math.floor(this.random() * 250)}.${Math.floor(this.random() * 250)}.${Math.floor(this.random() * 250)}`;
  }

  /**
   * Events for event time [from, to): ads served, then views (and some clicks) of recent ads a few
   * seconds later, jittered out of order. Some are held back and sent 1-5 minutes (of event time)
   * later; a few are stamped 2-3 hours in the past. Returns them in sending order.
   */
  next(from: number, to: number, perSecond: number): Event[] {
    const out: Event[] = [];
    const n = Math.max(1, Math.round(((to - from) / 1000) * perSecond));
    for (let i = 0; i < n; i++) {
      const now = from + Math.floor(((to - from) * i) / n);
      const r = this.random();
      if (r < 0.2 || this.recentAds.length === 0) {
        const ad: AdServed = { eventId: `e${this.seq++}`, adId: `ad-${this.seq}`, campaignId: this.campaign(), ip: this.ip(), score: Math.round(this.random() * 1000) / 1000, ts: now };
        this.recentAds.push(ad);
        if (this.recentAds.length > 500) this.recentAds.shift();
        out.push({ stream: STREAMS.ads, value: ad });
        continue;
      }
      const ad = this.recentAds[Math.floor(this.random() * this.recentAds.length)]!;
      const click = r > 0.95;
      const jitter = Math.floor(this.random() * 3000); // out of order by up to 3 s
      const ts = Math.max(ad.ts, now - jitter);
      const event: Event = { stream: click ? STREAMS.clicks : STREAMS.views, value: { eventId: `e${this.seq++}`, adId: ad.adId, ip: this.ip(), ts } };
      const late = this.random();
      if (late < (this.o.hoursLate ?? 0.002)) {
        // Hours late: a device that was offline. Sent now, stamped 2-3 hours ago.
        event.value.ts = ts - 2 * 3600_000 - Math.floor(this.random() * 3600_000);
        out.push(event);
      } else if (late < (this.o.hoursLate ?? 0.002) + (this.o.minutesLate ?? 0.02)) this.held.push({ due: now + 60_000 + Math.floor(this.random() * 4 * 60_000), event });
      else out.push(event);
    }
    for (let i = this.held.length - 1; i >= 0; i--) {
      if (this.held[i]!.due < to) out.push(this.held.splice(i, 1)[0]!.event);
    }
    return out;
  }
}
