// What an invocation carries to a worker: the event as JSON text (the Invoke API, schedules, async
// queues, object triggers), or a stream mapping's Kinesis batch in a compact form — each record's
// own fields once, its data as raw bytes in one buffer — from which the worker builds Lambda's
// event object itself. Parsing a batch of 100 records' JSON (65 KB of base64 and repeated field
// names) was most of a worker's time per invocation, and building that text most of the main
// thread's. The object built is the one JSON.parse(eventText(batch)) gives: the same fields in
// the same order, the same values (decision 022).
import { asBuffer } from '../../bytes.js';

/**
 * A stream mapping's Kinesis event, compactly: record i is partitionKeys[i], sequenceNumbers[i],
 * arrivals[i] and data[ends[i-1] .. ends[i]]. (A payload that is not a string is one of these.)
 */
export interface KinesisBatch {
  /** `shardId-000000000000`: the eventID is `<shardId>:<sequenceNumber>`. */
  shardId: string;
  invokeIdentityArn: string;
  awsRegion: string;
  eventSourceARN: string;
  partitionKeys: string[];
  sequenceNumbers: string[];
  /** Arrival, epoch ms (the event's approximateArrivalTimestamp is in seconds). */
  arrivals: Float64Array;
  /** Every record's data, one after the other. */
  data: Uint8Array;
  /** Where each record's data ends in `data`. */
  ends: Uint32Array;
}

export type Payload = string | KinesisBatch;

/** The event as the handler receives it: parsed JSON text, or a Kinesis batch built into Lambda's event. */
export function eventObject(p: Payload): unknown {
  if (typeof p === 'string') return JSON.parse(p);
  const data = asBuffer(p.data);
  const source = `${p.shardId}:`;
  const n = p.partitionKeys.length;
  const records = new Array(n);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = p.ends[i]!;
    const sequenceNumber = p.sequenceNumbers[i]!;
    records[i] = {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: p.partitionKeys[i]!,
        sequenceNumber,
        data: data.toString('base64', start, end),
        approximateArrivalTimestamp: p.arrivals[i]! / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: source + sequenceNumber,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: p.invokeIdentityArn,
      awsRegion: p.awsRegion,
      eventSourceARN: p.eventSourceARN,
    };
    start = end;
  }
  return { Records: records };
}

/** The event as JSON text: what Lambda would send, byte for byte (the process runtime's wire, tests, benchmarks). */
export const eventText = (p: Payload): string => (typeof p === 'string' ? p : JSON.stringify(eventObject(p)));
