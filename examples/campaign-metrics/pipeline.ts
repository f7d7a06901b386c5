// The campaign-metrics pipeline: drop bots, project, join views and clicks to the ad they belong
// to (served up to 10 minutes before), count views and clicks per campaign per minute, upsert into
// the SQLite table `campaign_minute`. Records later than an hour go to 'campaign-metrics-late'.
import { pipeline, sum, tumbling } from '../../src/dataflow/index.js';
import { isBot, STREAMS, type AdEvent, type AdServed } from './events.js';

const p = pipeline('campaign-metrics');

const ads = p.source<AdServed>(STREAMS.ads, { eventTime: (a) => a.ts, outOfOrderness: '5s' })
  .map((a) => ({ adId: a.adId, campaignId: a.campaignId, ts: a.ts })) // projection: ip and score are dropped
  .keyBy((a) => a.adId);

const views = p.source<AdEvent>(STREAMS.views, { eventTime: (e) => e.ts, outOfOrderness: '5s' }).map((e) => ({ ...e, kind: 'view' as const }));
const clicks = p.source<AdEvent>(STREAMS.clicks, { eventTime: (e) => e.ts, outOfOrderness: '5s' }).map((e) => ({ ...e, kind: 'click' as const }));

views.union(clicks)
  .filter((e) => !isBot(e.ip))
  .map((e) => ({ eventId: e.eventId, adId: e.adId, ts: e.ts, kind: e.kind })) // projection: the ip is not needed past the bot filter
  .keyBy((e) => e.adId)
  .join(ads).between('-10m', 0, { allowedLateness: '1h' })
  .inner((e, ad) => ({ campaignId: ad.campaignId, kind: e.kind }))
  .keyBy((x) => x.campaignId)
  .window(tumbling('1m'), { allowedLateness: '1h' })
  .aggregate({ views: sum((x) => (x.kind === 'view' ? 1 : 0)), clicks: sum((x) => (x.kind === 'click' ? 1 : 0)) })
  .toTable('campaign_minute');

export default p;
