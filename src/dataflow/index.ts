// The dataflow engine's public API (`sluice/dataflow`).
export { pipeline, Pipeline, DataStream, KeyedStream, WindowedStream } from './dsl.js';
export type { Duration, Key, LateRecord, SourceOptions, WindowOptions, WindowResult } from './dsl.js';
export { tumbling, sliding, session, type WindowSpec } from './windows.js';
export { avg, combine, count, distinctCount, max, min, sum, type Aggregator } from './aggregators.js';
export { TestDriver, type SendOptions } from './test-driver.js';
