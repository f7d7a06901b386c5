// The video-minutes pipeline: enriched player events counted per video per minute (views, events,
// errors) and upserted into PostgreSQL exactly once — or, when VIDEO_EVENTS_PG is not set, into
// the SQLite table of `sluice dev` — and a signed webhook alert for each minute whose error rate
// passes ALERT_ERROR_RATE (always also appended to the stream `video-alerts`).
import { isMainThread } from 'node:worker_threads';
import { count, distinctCount, pipeline, sum, tumbling } from '../../src/dataflow/index.js';
import { errorRateAlert, type EnrichedEvent, type ErrorRateAlert } from './events.js';

/** A PostgreSQL connection string, e.g. postgres://sluice@127.0.0.1:5432/video. */
const PG = process.env.VIDEO_EVENTS_PG;
/** Where alerts are POSTed, e.g. http://127.0.0.1:4330/alerts (receiver.ts). */
const ALERT_URL = process.env.VIDEO_EVENTS_ALERT_URL;
/** The HMAC secret that signs each POST (at least 16 characters); receiver.ts checks it. */
const ALERT_SECRET = process.env.VIDEO_EVENTS_ALERT_SECRET;
export const TABLE = 'video_minute';

const p = pipeline('video-minutes');

const minutes = p
  // Events of a partition arrive nearly in order (the producer stamps them as it sends); a
  // partition quiet for 5 s stops holding the minute back, so the others' minutes close.
  .source<EnrichedEvent>('enriched-events', { eventTime: (e) => e.ts, outOfOrderness: '5s', idleTimeout: '5s' })
  .keyBy((e) => e.videoId)
  .window(tumbling('1m'))
  .aggregate({ views: distinctCount((e) => e.sessionId), events: count(), errors: sum((e) => (e.event === 'error' ? 1 : 0)) });

if (PG) {
  // Created on the first batch; minutes as timestamptz (the window's bounds are epoch ms).
  minutes.toPostgres(TABLE, {
    connection: PG,
    key: ['key', 'windowStart'],
    columns: { key: 'text', windowStart: 'timestamptz', windowEnd: 'timestamptz', views: 'integer', events: 'integer', errors: 'integer' },
  });
} else {
  minutes.toTable(TABLE);
  if (isMainThread) console.warn(`video-minutes: VIDEO_EVENTS_PG is not set: per-minute views go to the SQLite table ${TABLE} (tables.db in the data directory)`);
}

const alerts = minutes.flatMap((m): ErrorRateAlert[] => {
  const alert = errorRateAlert(m);
  return alert ? [alert] : [];
});
alerts.to('video-alerts');
if (ALERT_URL) {
  if (!ALERT_SECRET || ALERT_SECRET.length < 16) throw new Error('video-minutes: VIDEO_EVENTS_ALERT_URL is set: set VIDEO_EVENTS_ALERT_SECRET too (at least 16 characters; receiver.ts checks signatures with it)');
  alerts.toWebhook('video-alerts', { url: ALERT_URL, signing: { secret: ALERT_SECRET } });
} else if (isMainThread) {
  console.warn('video-minutes: VIDEO_EVENTS_ALERT_URL is not set: error-rate alerts go to the stream video-alerts only');
}

export default p;
