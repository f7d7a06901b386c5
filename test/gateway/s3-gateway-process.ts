// A gateway in a process of its own, so that a test can measure the gateway's memory apart from
// its client's (s3-memory.test.ts): an open gateway on a free port over sqlite (S3_DATA_DIR) or
// nats (S3_NATS_URL, S3_NATS_PREFIX), its URL printed as one JSON line; SIGTERM stops it.
import { systemClock } from '../../src/clock.js';
import { NatsEngine } from '../../src/engine/nats/index.js';
import { SqliteEngine } from '../../src/engine/sqlite/index.js';
import { Gateway } from '../../src/gateway/gateway.js';

const nats = process.env.S3_NATS_URL;
const engine = nats
  ? await NatsEngine.open({ kind: 'nats', servers: nats, prefix: process.env.S3_NATS_PREFIX ?? 'sluice' }, systemClock)
  : new SqliteEngine({ dataDir: process.env.S3_DATA_DIR!, clock: systemClock, retentionIntervalMs: 0 });
const gw = new Gateway(engine, { port: 0 }, systemClock);
await gw.listen();
process.stdout.write(`${JSON.stringify({ url: gw.url })}\n`);
process.once('SIGTERM', async () => {
  await gw.close();
  await engine.close();
  process.exit(0);
});
