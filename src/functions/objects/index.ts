// Object triggers: S3's event notifications to Lambda over Sluice's buckets. A matching write
// queues S3's event in the function's async queue in the write's own commit (decision 021).
export { objectAnnouncer, objectTriggersOf, prepareObjectTriggers, internalOrigin, type Announce, type BoundObjectTrigger, type ObjectAnnouncerOptions } from './announcer.js';
export { encodeEventKey, s3EventRecord, sequencerOf, OWNER_ID, type S3Event, type S3EventRecord } from './event.js';
export { OBJECT_EVENT_TYPES, MAX_FILTER_LENGTH, configurationIdOf, eventNamesOf, matches, overlap, type ObjectEventType, type ObjectTrigger } from './trigger.js';
