// The events a stream mapping invokes a function with: Lambda's Kinesis event, byte for byte (its
// field order, sequence numbers and ARNs the same as Sluice's Kinesis API gives), or Sluice's decoded
// records for new TypeScript handlers. Each record's part of the event is built once and kept, so
// retries and bisected halves do not build it again.
import type { StoredRecord } from '../../engine/engine.js';
import { ACCOUNT } from '../../gateway/kinesis/errors.js';
import { encodeSequence, shardIdOf } from '../../gateway/kinesis/shards.js';
import { UNPARSEABLE } from './filter.js';

/** A record read by a mapping, with what its events and filters need. */
export interface MappedRecord {
  offset: number;
  /** Arrival, epoch ms. */
  timestamp: number;
  /** The Kinesis PartitionKey ('' for a record appended without one). */
  partitionKey: string;
  sequenceNumber: string;
  value: Uint8Array;
  /** When the mapping read it (epoch ms), for the batching window. */
  queuedAt: number;
  /** This record's part of the event's JSON, once built. */
  fragment?: string;
  /** The fragment's bytes in the event, once counted. */
  bytes?: number;
  decoded?: unknown;
}

/** What every record of one partition's events shares. */
export interface EventSource {
  stream: string;
  streamArn: string;
  shardId: string;
  region: string;
  invokeIdentityArn: string;
  format: 'kinesis' | 'records';
  /** The end of every record's part of a Kinesis event (built once per partition). */
  tail: string;
}

/** Lambda's Kinesis event, as a handler types it (`KinesisStreamEvent` of @types/aws-lambda). */
export interface KinesisStreamEvent {
  Records: {
    kinesis: { kinesisSchemaVersion: '1.0'; partitionKey: string; sequenceNumber: string; data: string; approximateArrivalTimestamp: number };
    eventSource: 'aws:kinesis';
    eventVersion: '1.0';
    eventID: string;
    eventName: 'aws:kinesis:record';
    invokeIdentityArn: string;
    awsRegion: string;
    eventSourceARN: string;
  }[];
}

/** The event of `format: 'records'`: data decoded (JSON when it parses, else UTF-8 text), arrival in epoch ms. */
export interface StreamRecordsEvent<T = unknown> {
  stream: string;
  streamArn: string;
  shardId: string;
  records: { partitionKey: string; sequenceNumber: string; data: T | string; arrival: number }[];
}

/** The ARN Sluice's Kinesis API gives a stream in `region`. */
export const streamArnOf = (region: string, stream: string): string => `arn:aws:kinesis:${region}:${ACCOUNT}:stream/${stream}`;

/** The role ARN events name as invokeIdentityArn when the registry gives none. */
export const defaultIdentityArn = (functionName: string): string => `arn:aws:iam::${ACCOUNT}:role/${functionName}`;

export function eventSourceOf(stream: string, partition: number, region: string, invokeIdentityArn: string, format: 'kinesis' | 'records'): EventSource {
  const streamArn = streamArnOf(region, stream);
  const tail = `"invokeIdentityArn":${JSON.stringify(invokeIdentityArn)},"awsRegion":${JSON.stringify(region)},"eventSourceARN":${JSON.stringify(streamArn)}}`;
  return { stream, streamArn, shardId: shardIdOf(partition), region, invokeIdentityArn, format, tail };
}

/** A stored record as a mapping sees it; `createdAt` is the stream's (sequence numbers carry it). */
export function mapRecord(r: StoredRecord, createdAt: number, now: number): MappedRecord {
  return {
    offset: r.offset,
    timestamp: r.timestamp,
    partitionKey: r.key ?? '',
    sequenceNumber: encodeSequence({ createdAt, partition: r.partition, offset: r.offset }),
    value: r.value,
    queuedAt: now,
  };
}

/** The record's data as JSON when it parses, else UNPARSEABLE. */
export function decodedData(r: MappedRecord): unknown {
  if (r.decoded === undefined) {
    try {
      r.decoded = JSON.parse(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength).toString('utf8'));
    } catch {
      r.decoded = UNPARSEABLE;
    }
  }
  return r.decoded;
}

/** What filterCriteria patterns match: the record's Kinesis fields, `data` decoded. */
export function filterView(r: MappedRecord): Record<string, unknown> {
  return {
    kinesisSchemaVersion: '1.0',
    partitionKey: r.partitionKey,
    sequenceNumber: r.sequenceNumber,
    approximateArrivalTimestamp: r.timestamp / 1000,
    data: decodedData(r),
  };
}

const base64 = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');

/** The record's part of the event's JSON (built once). */
export function fragmentOf(r: MappedRecord, src: EventSource): string {
  if (r.fragment !== undefined) return r.fragment;
  if (src.format === 'records') {
    // Data that parsed goes in as its own JSON text: serialising the parsed value again would overflow
    // the stack on a deeply nested one (100,000 arrays: valid JSON, and Kinesis' PutRecord stores it).
    const text = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength).toString('utf8');
    const data = decodedData(r) === UNPARSEABLE ? JSON.stringify(text) : text;
    r.fragment = `{"partitionKey":${JSON.stringify(r.partitionKey)},"sequenceNumber":"${r.sequenceNumber}","data":${data},"arrival":${JSON.stringify(r.timestamp)}}`;
  } else {
    r.fragment =
      `{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":${JSON.stringify(r.partitionKey)},"sequenceNumber":"${r.sequenceNumber}",` +
      `"data":"${base64(r.value)}","approximateArrivalTimestamp":${JSON.stringify(r.timestamp / 1000)}},` +
      `"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"${src.shardId}:${r.sequenceNumber}","eventName":"aws:kinesis:record",${src.tail}`;
  }
  return r.fragment;
}

/** The bytes this record adds to an event (its fragment and a comma). */
export function eventBytesOf(r: MappedRecord, src: EventSource): number {
  r.bytes ??= Buffer.byteLength(fragmentOf(r, src)) + 1;
  return r.bytes;
}

/** Bytes of an event's envelope around its records (a bound, for the 6 MB check). */
export const envelopeBytes = (src: EventSource): number => 64 + Buffer.byteLength(src.stream) * 2 + src.streamArn.length + src.shardId.length;

/** The event JSON for a batch. */
export function eventOf(batch: readonly MappedRecord[], src: EventSource): string {
  const records = batch.map((r) => fragmentOf(r, src)).join(',');
  if (src.format === 'records') {
    return `{"stream":${JSON.stringify(src.stream)},"streamArn":${JSON.stringify(src.streamArn)},"shardId":"${src.shardId}","records":[${records}]}`;
  }
  return `{"Records":[${records}]}`;
}
