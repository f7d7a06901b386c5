// The record an onFailure destination stream receives for discarded records: Lambda's invocation
// record for Kinesis (requestContext, responseContext, version, timestamp, KinesisBatchInfo) plus
// `records`, the discarded records themselves (AWS sends only their coordinates, which expire with
// the stream's retention). A discard too large for one message is split into several, each with the
// same requestContext and KinesisBatchInfo, a slice of `records` and `recordsPart: { index, of }`.
import { asBuffer } from '../../bytes.js';
import { randomUUID } from 'node:crypto';
import type { MappedRecord, EventSource } from './event.js';

/** Why records were discarded (Lambda's requestContext.condition). */
export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** The largest destination message; one discarded record always fits, alone if need be. */
export const MAX_FAILURE_MESSAGE_BYTES = 1024 * 1024;

/** What is known of the last invocation of the discarded records. */
export interface LastInvocation {
  /** The function errored (X-Amz-Function-Error). Absent for a valid response that reported items. */
  functionError?: 'Unhandled';
}

export interface FailureRecord {
  requestContext: { requestId: string; functionArn: string; condition: FailureCondition; approximateInvokeCount: number };
  /** Absent when the records were discarded before any invocation (too old when read). */
  responseContext?: { statusCode: 200; executedVersion: '$LATEST'; functionError?: 'Unhandled' };
  version: '1.0';
  timestamp: string;
  KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
  /** Sluice: the discarded records, data base64 as in the Kinesis event. */
  records: { partitionKey: string; sequenceNumber: string; data: string; approximateArrivalTimestamp: number }[];
  /** Sluice: present when one discard spans several messages. */
  recordsPart?: { index: number; of: number };
}

export interface Discard {
  records: readonly MappedRecord[];
  condition: FailureCondition;
  invokeCount: number;
  last?: LastInvocation;
}

/** The destination messages (JSON text) for one discard, at `now`. */
export function failureMessages(d: Discard, src: EventSource, functionArn: string, now: number): string[] {
  const first = d.records[0]!;
  const last = d.records.at(-1)!;
  const head: Omit<FailureRecord, 'records'> = {
    requestContext: { requestId: randomUUID(), functionArn, condition: d.condition, approximateInvokeCount: d.invokeCount },
    ...(d.invokeCount > 0 && {
      responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(d.last?.functionError && { functionError: d.last.functionError }) },
    }),
    version: '1.0',
    timestamp: new Date(now).toISOString(),
    KinesisBatchInfo: {
      shardId: src.shardId,
      startSequenceNumber: first.sequenceNumber,
      endSequenceNumber: last.sequenceNumber,
      approximateArrivalOfFirstRecord: new Date(first.timestamp).toISOString(),
      approximateArrivalOfLastRecord: new Date(last.timestamp).toISOString(),
      batchSize: d.records.length,
      streamArn: src.streamArn,
    },
  };
  const headBytes = Buffer.byteLength(JSON.stringify(head)) + 64;
  const parts: FailureRecord['records'][] = [[]];
  let bytes = headBytes;
  for (const r of d.records) {
    const entry = {
      partitionKey: r.partitionKey,
      sequenceNumber: r.sequenceNumber,
      data: asBuffer(r.value).toString('base64'),
      approximateArrivalTimestamp: r.timestamp / 1000,
    };
    const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (bytes + size > MAX_FAILURE_MESSAGE_BYTES && parts.at(-1)!.length > 0) {
      parts.push([]);
      bytes = headBytes;
    }
    parts.at(-1)!.push(entry);
    bytes += size;
  }
  return parts.map((records, index) =>
    JSON.stringify(parts.length === 1 ? { ...head, records } : { ...head, records, recordsPart: { index, of: parts.length } }),
  );
}
