// The nats baseline of bench/ingest: a bare JetStream publish loop, one message per record
// (~200 bytes), WINDOW publishes in flight, for SECONDS. Prints one JSON line.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const [servers, replicasText, secondsText, recordBytesText] = process.argv.slice(2);
const WINDOW = 512;
const nc = await connect({ servers: servers!.split(',') });
const jsm = await jetstreamManager(nc);
await jsm.streams.add({ name: 'BARE', subjects: ['bare.x'], num_replicas: Number(replicasText) });
const js = jetstream(nc);
const payload = Buffer.alloc(Number(recordBytesText), 'x');
const deadline = Date.now() + Number(secondsText) * 1000;
let acked = 0;
const started = Date.now();
await Promise.all(
  Array.from({ length: WINDOW }, async () => {
    while (Date.now() < deadline) {
      await js.publish('bare.x', payload);
      acked++;
    }
  }),
);
const elapsed = (Date.now() - started) / 1000;
process.stdout.write(JSON.stringify({ records: acked, elapsed, recordsPerSec: Math.round(acked / elapsed) }) + '\n');
await nc.close();
