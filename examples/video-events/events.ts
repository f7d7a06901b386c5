// The video-events model: what a player sends, how `enrich` checks and extends it, and a seeded
// traffic plan (good events with a few malformed records among them) that the producer puts and a
// test recomputes. Nothing here touches the network.

/** What a viewer does; the traffic plan draws its events from these. */
const ACTIONS = ['play', 'pause', 'seek', 'buffer', 'complete', 'ad_start'] as const;
/** …and `error`: the player failed (a stream that does not load, a decoder error). */
export const EVENT_TYPES = [...ACTIONS, 'error'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What a video player sends. */
export interface PlayerEvent {
  eventId: string;
  sessionId: string;
  videoId: string;
  event: EventType;
  /** Seconds into the video. */
  position: number;
  /** The video's length, seconds. */
  duration: number;
  userAgent: string;
  /** When the player sent it, epoch ms. */
  ts: number;
}

export type ProgressBucket = '0-25%' | '25-50%' | '50-75%' | '75-100%' | 'finished';
export type DeviceClass = 'tv' | 'tablet' | 'mobile' | 'desktop' | 'other';

/** A player event with what `enrich` derives from it. */
export interface EnrichedEvent extends PlayerEvent {
  /** position / duration, 0–1, three decimals. */
  progress: number;
  progressBucket: ProgressBucket;
  deviceClass: DeviceClass;
}

export type Checked = { ok: true; event: PlayerEvent } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128;
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks a record's data: UTF-8 JSON holding a well-formed player event, or why not. */
export function validate(data: Uint8Array): Checked {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return { ok: false, reason: 'not UTF-8 text' };
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  if (!isObject(v)) return { ok: false, reason: 'not a JSON object' };
  for (const f of ['eventId', 'sessionId', 'videoId', 'userAgent'] as const) if (!nonEmpty(v[f])) return { ok: false, reason: `${f} is missing or not a string of 1-128 characters` };
  if (!EVENT_TYPES.includes(v.event as EventType)) return { ok: false, reason: `event ${JSON.stringify(v.event)} is not one of ${EVENT_TYPES.join(', ')}` };
  if (!finite(v.duration) || v.duration <= 0) return { ok: false, reason: 'duration is not a positive number' };
  if (!finite(v.position) || v.position < 0 || v.position > v.duration) return { ok: false, reason: `position ${JSON.stringify(v.position)} is not within 0..duration (${v.duration})` };
  if (!finite(v.ts)) return { ok: false, reason: 'ts is not a number' };
  return { ok: true, event: v as unknown as PlayerEvent };
}

export function progressBucket(progress: number, event: EventType): ProgressBucket {
  if (event === 'complete' || progress >= 1) return 'finished';
  if (progress < 0.25) return '0-25%';
  if (progress < 0.5) return '25-50%';
  if (progress < 0.75) return '50-75%';
  return '75-100%';
}

/** The device class a user agent names (checked in this order: a TV is also "Linux", a tablet also "Mobile"). */
export function deviceClass(userAgent: string): DeviceClass {
  const ua = userAgent.toLowerCase();
  if (/smart-?tv|tizen|webos|roku|appletv|crkey|bravia|aft[a-z]/.test(ua)) return 'tv';
  if (/ipad|tablet|kindle|silk/.test(ua) || (ua.includes('android') && !ua.includes('mobile'))) return 'tablet';
  if (/iphone|ipod|mobile|android/.test(ua)) return 'mobile';
  if (/windows|macintosh|x11|linux|cros/.test(ua)) return 'desktop';
  return 'other';
}

/** The event with its watch progress, progress bucket and device class. */
export function enrich(e: PlayerEvent): EnrichedEvent {
  const progress = Math.round((e.position / e.duration) * 1000) / 1000;
  return { ...e, progress, progressBucket: progressBucket(progress, e.event), deviceClass: deviceClass(e.userAgent) };
}

export const USER_AGENTS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36',
  'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/5.0 TV Safari/537.36',
  'Roku/DVP-12.5 (12.5.0.4174)',
];

/** A record as the producer puts it: Kinesis data and partition key. */
export interface PlannedRecord {
  partitionKey: string;
  data: Uint8Array;
  /** The event, for a good record; why it is malformed, for a bad one. */
  good?: PlayerEvent;
  malformed?: string;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** The malformed records of every plan: each breaks one rule of `validate`. */
export function malformedRecords(): PlannedRecord[] {
  const bad = (partitionKey: string, text: string, why: string): PlannedRecord => ({ partitionKey, data: utf8(text), malformed: why });
  return [
    bad('s-17', '{"eventId":"bad-1","sessionId":"s-17","event":"play","position":12', 'truncated JSON'),
    bad('s-3', JSON.stringify({ eventId: 'bad-2', sessionId: 's-3', videoId: 'v-3', event: 'rewind', position: 5, duration: 600, userAgent: USER_AGENTS[4], ts: 0 }), 'unknown event type'),
    bad('s-40', JSON.stringify({ eventId: 'bad-3', videoId: 'v-1', event: 'pause', position: 5, duration: 600, userAgent: USER_AGENTS[0], ts: 0 }), 'no sessionId'),
    bad('s-8', JSON.stringify({ eventId: 'bad-4', sessionId: 's-8', videoId: 'v-8', event: 'seek', position: -30, duration: 600, userAgent: USER_AGENTS[1], ts: 0 }), 'negative position'),
    bad('s-21', JSON.stringify({ eventId: 'bad-5', sessionId: 's-21', videoId: 'v-2', event: 'buffer', position: 900, duration: 600, userAgent: USER_AGENTS[6], ts: 0 }), 'position past the end'),
    { partitionKey: 'unknown', data: new Uint8Array([0xff, 0xfe, 0x00, 0x01, 0x9c, 0x80]), malformed: 'binary, not UTF-8' },
  ];
}

/** mulberry32: a small seeded PRNG, so a plan can be recomputed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PlanOptions {
  /** Good player events. Default 200. */
  count?: number;
  /** Default 1: the same seed, count and start give the same records. */
  seed?: number;
  /** The first event's `ts`, epoch ms; each next one 250 ms later. Default: now. */
  start?: number;
}

const MINUTE_MS = 60_000;
/** The video whose stream breaks in the plan's second and third minutes. */
export const BROKEN_VIDEO = 'v-5';
/** How often a player reports an error: 3 % of events, and 60 % of the broken video's while it is broken. */
export function errorChance(videoId: string, minute: number): number {
  return videoId === BROKEN_VIDEO && (minute === 1 || minute === 2) ? 0.6 : 0.03;
}

/**
 * `count` good events from 60 sessions watching 23 videos, one every 250 ms (240 a minute), a few
 * of them errors (see errorChance), with the malformed records spread evenly among them.
 */
export function plan(o: PlanOptions = {}): PlannedRecord[] {
  const count = o.count ?? 200;
  const seed = o.seed ?? 1;
  const start = o.start ?? Date.now();
  const random = rng(seed);
  const failures = rng(seed ^ 0x5eed);
  const int = (n: number) => Math.floor(random() * n);
  const out: PlannedRecord[] = [];
  for (let i = 0; i < count; i++) {
    const session = int(60);
    const duration = 60 * (5 + (session % 40)); // 5-44 minute videos, one per session
    const drawn = ACTIONS[int(ACTIONS.length)]!;
    const videoId = `v-${session % 23}`;
    const ts = start + i * 250;
    // Errors come from their own generator, so the other events are the same with or without them.
    const event: EventType = failures() < errorChance(videoId, Math.floor((ts - start) / MINUTE_MS)) ? 'error' : drawn;
    const position = drawn === 'complete' ? duration : drawn === 'play' && random() < 0.3 ? 0 : int(duration);
    const e: PlayerEvent = {
      eventId: `e-${seed}-${String(i).padStart(5, '0')}`,
      sessionId: `s-${session}`,
      videoId,
      event,
      position,
      duration,
      userAgent: USER_AGENTS[session % USER_AGENTS.length]!,
      ts,
    };
    out.push({ partitionKey: e.sessionId, data: utf8(JSON.stringify(e)), good: e });
  }
  const bad = malformedRecords();
  bad.forEach((b, k) => out.splice(Math.floor(((k + 0.5) * count) / bad.length) + k, 0, b));
  return out;
}

/** A video's minute as the `video-minutes` pipeline counts it: a row of the table `video_minute`. */
export interface VideoMinute {
  /** The video's id. */
  key: string;
  /** The minute, epoch ms (UTC): [windowStart, windowEnd). */
  windowStart: number;
  windowEnd: number;
  /** Sessions that sent an event for the video in the minute (people watching it). */
  views: number;
  /** Player events of the video in the minute, errors included. */
  events: number;
  /** Of those, `error` events. */
  errors: number;
}

/** A minute whose share of error events is above this is alerted on… */
export const ALERT_ERROR_RATE = 0.2;
/** …when it has at least this many events (one error in two events pages nobody). */
export const ALERT_MIN_EVENTS = 5;

/** What the webhook receives for a video's bad minute. */
export interface ErrorRateAlert {
  type: 'error-rate';
  /** The video's id (the webhook record's key is [key, windowStart]). */
  key: string;
  windowStart: number;
  windowEnd: number;
  events: number;
  errors: number;
  /** errors / events, three decimals. */
  errorRate: number;
  threshold: number;
}

/** The alert a video's minute calls for, if any. */
export function errorRateAlert(m: VideoMinute): ErrorRateAlert | undefined {
  if (m.events < ALERT_MIN_EVENTS || m.errors / m.events <= ALERT_ERROR_RATE) return undefined;
  const errorRate = Math.round((m.errors / m.events) * 1000) / 1000;
  return { type: 'error-rate', key: m.key, windowStart: m.windowStart, windowEnd: m.windowEnd, events: m.events, errors: m.errors, errorRate, threshold: ALERT_ERROR_RATE };
}
