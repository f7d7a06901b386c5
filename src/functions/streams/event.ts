// The events a stream mapping invokes a function with: Lambda's Kinesis event, byte for byte (its
// field order, sequence numbers and ARNs the same as Sluice's Kinesis API gives), or Sluice's decoded
// records for new TypeScript handlers. A Kinesis event of a few records goes to the worker as its
// text, a larger one in a compact form the worker builds Lambda's event from (either's JSON size
// counted per record beforehand, for the 6 MB limit, without building it); a decoded record's part
// is built once and kept.
import type { StoredRecord } from '../../engine/engine.js';
import { asBuffer } from '../../bytes.js';
import { ACCOUNT } from '../../gateway/kinesis/errors.js';
import { encodeSequence, shardIdOf } from '../../gateway/kinesis/shards.js';
import type { KinesisBatch, Payload } from '../runtime/payload.js';
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
  /** Format 'records': this record's part of the event's JSON, once built (its data decoded). */
  fragment?: string;
  /** This record's bytes in the event (its part and a comma), once counted. */
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
  /** The end of every record's part of a Kinesis event's JSON (built once per partition, for counting its bytes). */
  tail: string;
  /** The bytes of a Kinesis record's part that are the same for every record of the partition. */
  fixedBytes: number;
  /** Whether a Kinesis event may go in its compact form (not for a runtime that would turn it into text: see eventOf). */
  compact: boolean;
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

export function eventSourceOf(stream: string, partition: number, region: string, invokeIdentityArn: string, format: 'kinesis' | 'records', compact = true): EventSource {
  const streamArn = streamArnOf(region, stream);
  const tail = `"invokeIdentityArn":${JSON.stringify(invokeIdentityArn)},"awsRegion":${JSON.stringify(region)},"eventSourceARN":${JSON.stringify(streamArn)}}`;
  const shardId = shardIdOf(partition);
  return { stream, streamArn, shardId, region, invokeIdentityArn, format, tail, fixedBytes: kinesisFixedBytes(shardId, tail), compact };
}

const SEQUENCE_BLOCK = 1_000_000; // offsets whose sequence numbers share all but their last 6 decimal digits

/**
 * The sequence numbers of one partition, as encodeSequence gives them, without a BigInt per record:
 * offsets whose numbers differ only in their last 6 decimal digits share the digits before them.
 */
export class SequenceNumbers {
  private readonly base: bigint;
  private readonly baseLow: number;
  private head = '';
  private from = Number.NaN;

  constructor(
    readonly createdAt: number,
    readonly partition: number,
  ) {
    this.base = BigInt(encodeSequence({ createdAt, partition, offset: 0 }));
    this.baseLow = Number(this.base % BigInt(SEQUENCE_BLOCK));
  }

  /** encodeSequence({ createdAt, partition, offset }). */
  of(offset: number): string {
    // Past this, the block's arithmetic below would leave the integers a double holds exactly.
    if (offset > Number.MAX_SAFE_INTEGER - SEQUENCE_BLOCK) return encodeSequence({ createdAt: this.createdAt, partition: this.partition, offset });
    let d = offset - this.from;
    if (!(d >= 0 && d < SEQUENCE_BLOCK)) {
      // The block's first number ends in six zeros, so every number in it is its head and d, six digits.
      this.from = offset - ((this.baseLow + offset) % SEQUENCE_BLOCK);
      this.head = (this.base + BigInt(this.from)).toString().slice(0, -6);
      d = offset - this.from;
    }
    return this.head + (SEQUENCE_BLOCK + d).toString().slice(1);
  }
}

let sequences: SequenceNumbers | undefined; // the last partition's: a read's records are all of one partition

/** A stored record as a mapping sees it; `createdAt` is the stream's (sequence numbers carry it). */
export function mapRecord(r: StoredRecord, createdAt: number, now: number): MappedRecord {
  if (sequences?.createdAt !== createdAt || sequences.partition !== r.partition) sequences = new SequenceNumbers(createdAt, r.partition);
  return {
    offset: r.offset,
    timestamp: r.timestamp,
    partitionKey: r.key ?? '',
    sequenceNumber: sequences.of(r.offset),
    value: r.value,
    queuedAt: now,
    bytes: undefined, // set later: present from the start, so every record keeps one shape
  };
}

/** The record's data as JSON when it parses, else UNPARSEABLE. */
export function decodedData(r: MappedRecord): unknown {
  if (r.decoded === undefined) {
    try {
      r.decoded = JSON.parse(asBuffer(r.value).toString('utf8'));
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

/** A format 'records' record's part of the event's JSON (built once: its data is decoded for it). */
export function fragmentOf(r: MappedRecord): string {
  if (r.fragment !== undefined) return r.fragment;
  // Data that parsed goes in as its own JSON text: serialising the parsed value again would overflow
  // the stack on a deeply nested one (100,000 arrays: valid JSON, and Kinesis' PutRecord stores it).
  const text = asBuffer(r.value).toString('utf8');
  const data = decodedData(r) === UNPARSEABLE ? JSON.stringify(text) : text;
  r.fragment = `{"partitionKey":${JSON.stringify(r.partitionKey)},"sequenceNumber":"${r.sequenceNumber}","data":${data},"arrival":${JSON.stringify(r.timestamp)}}`;
  return r.fragment;
}

// A Kinesis record's part of the event, around its partition key, sequence number, data, arrival and sequence number again; then src.tail.
const K_KEY = '{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"';
const K_SEQUENCE = '","sequenceNumber":"';
const K_DATA = '","data":"';
const K_ARRIVAL = '","approximateArrivalTimestamp":';
const K_SOURCE = '},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"';
const K_NAME = '","eventName":"aws:kinesis:record",';
/** The bytes of a Kinesis record's part that are the same for every record of a partition (the eventID's colon included). */
function kinesisFixedBytes(shardId: string, tail: string): number {
  return K_KEY.length + K_SEQUENCE.length + K_DATA.length + K_ARRIVAL.length + K_SOURCE.length + shardId.length + 1 + K_NAME.length + Buffer.byteLength(tail);
}

/** Whether a partition key goes into JSON as it is: printable ASCII without a quote or backslash (one byte a character). */
function plainKey(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/** The partition key inside its JSON quotes. */
const keyText = (key: string): string => (plainKey(key) ? key : JSON.stringify(key).slice(1, -1));

// The records of one stored batch share their arrival time: its text is made once for them.
let arrivalMs = Number.NaN;
let arrival = '';
/** approximateArrivalTimestamp's JSON: seconds. */
function arrivalText(timestampMs: number): string {
  if (timestampMs !== arrivalMs) {
    arrivalMs = timestampMs;
    arrival = JSON.stringify(timestampMs / 1000);
  }
  return arrival;
}

/** The bytes this record adds to an event (its part and a comma), counted without building it. */
export function eventBytesOf(r: MappedRecord, src: EventSource): number {
  if (r.bytes !== undefined) return r.bytes;
  if (src.format === 'records') r.bytes = Buffer.byteLength(fragmentOf(r)) + 1;
  else {
    const key = plainKey(r.partitionKey) ? r.partitionKey.length : Buffer.byteLength(keyText(r.partitionKey));
    const data = 4 * Math.ceil(r.value.byteLength / 3); // base64
    r.bytes = src.fixedBytes + key + 2 * r.sequenceNumber.length + data + arrivalText(r.timestamp).length + 1;
  }
  return r.bytes;
}

/** Bytes of an event's envelope around its records (a bound, for the 6 MB check). */
export const envelopeBytes = (src: EventSource): number => 64 + Buffer.byteLength(src.stream) * 2 + src.streamArn.length + src.shardId.length;

let flattened: unknown; // where flatten's conversion goes: an unused one is optimised away, and the string stays a rope

/**
 * Makes a string built by concatenation flat (one copy now: converting it to a number flattens it,
 * as the pino logger's flatstr does). Else it is flattened when it is sent to a worker, by the main
 * thread between two invocations, where an event built ahead of time would not help.
 */
function flatten(s: string): string {
  flattened = Number(s);
  return s;
}

/**
 * Kinesis batches of this many records or more go to the worker in their compact form: below it the
 * event's text costs the main thread less to build and send than the form's arrays and buffer, and
 * the worker little to parse (bench/functions, decision 022).
 */
export const COMPACT_MIN_RECORDS = 8;

/**
 * The event of a batch: format 'records' as one flat JSON string; a Kinesis event of
 * COMPACT_MIN_RECORDS or more in its compact form (src/functions/runtime/payload.ts), from which the
 * worker builds Lambda's event — each record's own fields and its raw data, no base64 or field
 * names on the main thread; a smaller one, or any when the source says not compact, as its text.
 */
export function eventOf(batch: readonly MappedRecord[], src: EventSource): Payload {
  if (src.format === 'records') {
    const head = `{"stream":${JSON.stringify(src.stream)},"streamArn":${JSON.stringify(src.streamArn)},"shardId":"${src.shardId}","records":[`;
    return flatten(`${head}${batch.map(fragmentOf).join(',')}]}`);
  }
  return batch.length < COMPACT_MIN_RECORDS || !src.compact ? kinesisEventText(batch, src) : kinesisBatch(batch, src);
}

/**
 * A Kinesis event's JSON, one flat string, appended to piece by piece (V8 joins the pieces once,
 * when flattened): no string per record is kept or built twice.
 */
export function kinesisEventText(batch: readonly MappedRecord[], src: EventSource): string {
  const source = `${K_SOURCE}${src.shardId}:`;
  const name = `${K_NAME}${src.tail}`;
  let event = '{"Records":[';
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i]!;
    if (i > 0) event += ',';
    event += K_KEY + keyText(r.partitionKey) + K_SEQUENCE + r.sequenceNumber + K_DATA + asBuffer(r.value).toString('base64') + K_ARRIVAL + arrivalText(r.timestamp) + source + r.sequenceNumber + name;
  }
  return flatten(`${event}]}`);
}

/** A Kinesis event in its compact form. */
export function kinesisBatch(batch: readonly MappedRecord[], src: EventSource): KinesisBatch {
  const n = batch.length;
  const partitionKeys = new Array<string>(n);
  const sequenceNumbers = new Array<string>(n);
  const arrivals = new Float64Array(n);
  const ends = new Uint32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const r = batch[i]!;
    partitionKeys[i] = r.partitionKey;
    sequenceNumbers[i] = r.sequenceNumber;
    arrivals[i] = r.timestamp;
    ends[i] = total += r.value.byteLength;
  }
  // Its own memory, not a slice of Buffer's shared pool: a clone to the worker copies the whole ArrayBuffer.
  const data = Buffer.allocUnsafeSlow(total);
  for (let i = 0, at = 0; i < n; i++) {
    const v = batch[i]!.value;
    data.set(v, at);
    at += v.byteLength;
  }
  return { shardId: src.shardId, invokeIdentityArn: src.invokeIdentityArn, awsRegion: src.region, eventSourceARN: src.streamArn, partitionKeys, sequenceNumbers, arrivals, data, ends };
}
