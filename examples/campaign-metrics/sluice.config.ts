// `npm run demo`: the gateway, the campaign-metrics pipeline, and (with --demo) a generator
// posting realistic traffic through the gateway plus a live per-campaign table.
import { defineConfig } from '../../src/config/index.js';

export default defineConfig({
  streams: {
    'ad-served': { partitions: 4, partitionKeyField: 'adId' },
    'ad-views': { partitions: 4, partitionKeyField: 'adId' },
    'ad-clicks': { partitions: 2, partitionKeyField: 'adId' },
  },
  dataflow: { pipelines: ['./pipeline.ts'], demo: './demo.ts' },
});
