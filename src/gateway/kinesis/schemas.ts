// The request shapes of the Kinesis operations Sluice serves, with the constraints of AWS's service
// model (kinesis-2013-12-02). Members are listed in the order AWS lists their validation errors,
// where that order is known (StreamName last).
import type { Members, Shape, StringShape } from './validation.js';

export const MAX_RECORD_BYTES = 1024 * 1024; // 1 MiB of data per record
export const MAX_RECORDS_PER_PUT = 500;
export const MAX_KEY_LENGTH = 256;
export const MAX_GET_LIMIT = 10_000;
export const MAX_LIST_LIMIT = 10_000; // the largest Limit/MaxResults accepted; fewer may be returned
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;
export const MAX_TAGS_PER_REQUEST = 200; // a TagMap's bound; a stream keeps at most 50 (tags.ts)
export const MAX_TAG_KEYS_PER_REQUEST = 50;
export const MAX_TAGS_LISTED = 50;

export const STREAM_MODES = ['PROVISIONED', 'ON_DEMAND'] as const;
// The order AWS prints this enum in its validation messages.
export const ITERATOR_TYPES = ['AFTER_SEQUENCE_NUMBER', 'LATEST', 'AT_TIMESTAMP', 'AT_SEQUENCE_NUMBER', 'TRIM_HORIZON'] as const;

const NAME_PATTERN = '[a-zA-Z0-9_.-]+';
const streamName: StringShape = { kind: 'string', pattern: NAME_PATTERN, min: 1, max: 128 };
const streamArn: StringShape = { kind: 'string', pattern: 'arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+', min: 1, max: 2048 };
const shardId: StringShape = { kind: 'string', pattern: NAME_PATTERN, min: 1, max: 128 };
const sequenceNumber: StringShape = { kind: 'string', pattern: '0|([1-9]\\d{0,128})' };
const hashKey: StringShape = { kind: 'string', pattern: '0|([1-9]\\d{0,38})' };
const partitionKey: StringShape = { kind: 'string', min: 1, max: MAX_KEY_LENGTH };
const nextToken: StringShape = { kind: 'string', min: 1, max: 1_048_576 };
const tagKey: StringShape = { kind: 'string', min: 1, max: MAX_TAG_KEY_LENGTH };
const tagValue: StringShape = { kind: 'string', min: 0, max: MAX_TAG_VALUE_LENGTH };
const data: Shape = { kind: 'blob', max: MAX_RECORD_BYTES };
const tags: Shape = { kind: 'map', key: tagKey, value: tagValue, min: 1, max: MAX_TAGS_PER_REQUEST };
const limit = (max: number): Shape => ({ kind: 'integer', min: 1, max });
const streamModeDetails: Shape = {
  kind: 'structure',
  members: { StreamMode: { kind: 'string', values: STREAM_MODES, required: true } },
};
const timestamp: Shape = { kind: 'timestamp' };

/** The members naming a stream, by name or ARN (one of them is required: see streamNameOf). */
const stream: Members = { StreamName: streamName, StreamARN: streamArn };

export const INPUTS = {
  AddTagsToStream: { Tags: { ...tags, required: true }, ...stream },
  CreateStream: { ShardCount: { kind: 'integer', min: 1 }, StreamName: { ...streamName, required: true }, StreamModeDetails: streamModeDetails, Tags: tags },
  DecreaseStreamRetentionPeriod: { RetentionPeriodHours: { kind: 'integer', required: true }, ...stream },
  DeleteStream: { EnforceConsumerDeletion: { kind: 'boolean' }, ...stream },
  DescribeLimits: {},
  DescribeStream: { Limit: limit(MAX_LIST_LIMIT), ExclusiveStartShardId: shardId, ...stream },
  DescribeStreamSummary: { ...stream },
  GetRecords: { Limit: limit(MAX_GET_LIMIT), ShardIterator: { kind: 'string', min: 1, max: 512, required: true }, StreamARN: streamArn },
  GetShardIterator: {
    ShardId: { ...shardId, required: true },
    ShardIteratorType: { kind: 'string', values: ITERATOR_TYPES, required: true },
    StartingSequenceNumber: sequenceNumber,
    ...stream,
    Timestamp: timestamp,
  },
  IncreaseStreamRetentionPeriod: { RetentionPeriodHours: { kind: 'integer', required: true }, ...stream },
  ListShards: {
    MaxResults: limit(MAX_LIST_LIMIT),
    ExclusiveStartShardId: shardId,
    ...stream,
    NextToken: nextToken,
    StreamCreationTimestamp: timestamp,
    ShardFilter: {
      kind: 'structure',
      members: {
        Type: {
          kind: 'string',
          values: ['AFTER_SHARD_ID', 'AT_TRIM_HORIZON', 'FROM_TRIM_HORIZON', 'AT_LATEST', 'AT_TIMESTAMP', 'FROM_TIMESTAMP'],
          required: true,
        },
        ShardId: shardId,
        Timestamp: timestamp,
      },
    },
  },
  ListStreams: { Limit: limit(MAX_LIST_LIMIT), ExclusiveStartStreamName: streamName, NextToken: nextToken },
  ListTagsForStream: { Limit: limit(MAX_TAGS_LISTED), ExclusiveStartTagKey: tagKey, ...stream },
  PutRecord: {
    SequenceNumberForOrdering: sequenceNumber,
    PartitionKey: { ...partitionKey, required: true },
    ExplicitHashKey: hashKey,
    Data: { ...data, required: true },
    ...stream,
  },
  PutRecords: {
    Records: {
      kind: 'list',
      min: 1,
      max: MAX_RECORDS_PER_PUT,
      required: true,
      member: {
        kind: 'structure',
        members: { PartitionKey: { ...partitionKey, required: true }, Data: { ...data, required: true }, ExplicitHashKey: hashKey },
      },
    },
    ...stream,
  },
  RemoveTagsFromStream: { TagKeys: { kind: 'list', member: tagKey, min: 1, max: MAX_TAG_KEYS_PER_REQUEST, required: true }, ...stream },
  UpdateStreamMode: { StreamARN: { ...streamArn, required: true }, StreamModeDetails: { ...streamModeDetails, required: true } },
} satisfies Record<string, Members>;

export type OperationName = keyof typeof INPUTS;
