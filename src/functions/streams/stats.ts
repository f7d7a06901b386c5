// What `sluice functions describe` shows of a stream mapping: Lambda's State and
// LastProcessingResult, the IteratorAge metric, lag, and counters, per mapping and per partition.

/** Lambda's LastProcessingResult texts (the 'PROBLEM: …' ones beyond the first are Sluice's wording). */
export const RESULT_NONE = 'No records processed';
export const RESULT_OK = 'OK';
export const RESULT_FUNCTION_FAILED = 'PROBLEM: Function call failed';
export const RESULT_ITEMS_FAILED = 'PROBLEM: Function reported batch item failures';
export const RESULT_BAD_RESPONSE = 'PROBLEM: Function response is not a valid batchItemFailures report';
export const RESULT_NOT_INVOKED = 'PROBLEM: Function could not be invoked';
export const RESULT_DESTINATION_FAILED = 'PROBLEM: Could not deliver to the onFailure destination';

/** A partition's processing: OK, or RETRYING while a failed batch waits for its next attempt. */
export type PartitionState = 'OK' | 'RETRYING' | 'STOPPED';

export interface MappingCounters {
  /** Invocations made (each attempt of each batch). */
  invocations: number;
  /** Invocations that ended in a function error (Lambda's Errors). */
  functionErrors: number;
  /** Records in invocations that succeeded (a redelivered record counts again). */
  recordsDelivered: number;
  /** Records passed over because no filter matched them. */
  recordsFiltered: number;
  /** Records discarded after their retries or age ran out. */
  recordsDiscarded: number;
  /** Re-invocations of a failed batch or of its remainder (bisected halves are not retries). */
  retries: number;
  /** Failed batches split in two. */
  bisections: number;
  /** Failure records written to the onFailure destination. */
  destinationDeliveries: number;
  /** Failed attempts to write them (Lambda's DestinationDeliveryFailures); they are retried. */
  destinationDeliveryFailures: number;
}

export const zeroCounters = (): MappingCounters => ({
  invocations: 0,
  functionErrors: 0,
  recordsDelivered: 0,
  recordsFiltered: 0,
  recordsDiscarded: 0,
  retries: 0,
  bisections: 0,
  destinationDeliveries: 0,
  destinationDeliveryFailures: 0,
});

export interface PartitionStats extends MappingCounters {
  partition: number;
  shardId: string;
  state: PartitionState;
  lastProcessingResult: string;
  /** Epoch ms of the last result, if any. */
  lastProcessingResultAt?: number;
  /**
   * Lambda's IteratorAge: how old (ms) the last record of the last invoked batch was when it was
   * invoked; 0 when the partition is caught up (everything read and done).
   */
  iteratorAgeMs: number;
  /** The committed offset: everything before it is done. */
  committedOffset: number;
  /** The next offset the mapping reads. */
  readOffset: number;
  /** The partition's next offset (its newest record + 1), when known. */
  latestOffset?: number;
  /** Records not yet done: latestOffset − committedOffset. */
  lag?: number;
  /** Batches of this partition being processed now (at most parallelizationFactor). */
  batchesInFlight: number;
}

export interface StreamMappingStats extends MappingCounters {
  /** The mapping's id and consumer group: `fn:<function>:<stream>`. */
  id: string;
  functionName: string;
  stream: string;
  eventSourceArn: string;
  /** Lambda's State. */
  state: 'Creating' | 'Enabled' | 'Disabled';
  /** Why it is in that state ('User action' for enabled: false, 'Stopped' after a stop). */
  stateTransitionReason: string;
  /** The most recent partition's LastProcessingResult. */
  lastProcessingResult: string;
  /** The largest partition IteratorAge. */
  iteratorAgeMs: number;
  /** Records not yet done, over all partitions (when known). */
  lag?: number;
  partitions: PartitionStats[];
}

/** Adds `b` into `a`. */
export function addCounters(a: MappingCounters, b: MappingCounters): MappingCounters {
  for (const k of Object.keys(a) as (keyof MappingCounters)[]) a[k] += b[k];
  return a;
}
