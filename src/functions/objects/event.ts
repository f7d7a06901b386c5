// S3's event message (eventVersion 2.1) for one write of an object, as S3 sends it to Lambda:
// `{ Records: [record] }`, one write per event. The key is URL-encoded as S3 encodes it (spaces as
// `+`), `sequencer` a fixed-width hex string of the object's version, so events of one key order
// as strings and as numbers.
import type { ObjectEvent, ObjectOrigin } from '../../objects/index.js';

/** The owner of every bucket (Sluice has one, as the S3 API's listings say). */
export const OWNER_ID = 'sluice';
const SEQUENCER_DIGITS = 16;

export interface S3EventRecord {
  eventVersion: '2.1';
  eventSource: 'aws:s3';
  awsRegion: string;
  eventTime: string;
  eventName: ObjectEvent['event'];
  userIdentity: { principalId: string };
  requestParameters: { sourceIPAddress: string };
  responseElements: { 'x-amz-request-id': string; 'x-amz-id-2': string };
  s3: {
    s3SchemaVersion: '1.0';
    configurationId: string;
    bucket: { name: string; ownerIdentity: { principalId: string }; arn: string };
    object: { key: string; size?: number; eTag?: string; versionId?: string; sequencer: string };
  };
}

export interface S3Event {
  Records: S3EventRecord[];
}

/**
 * A key as S3's events carry it: UTF-8 percent-encoded (upper-case hex) but for letters, digits,
 * `- _ . *` and `/`, a space as `+`. A handler gets the key back with
 * `decodeURIComponent(key.replace(/\+/g, ' '))` (Python: `unquote_plus`).
 */
export function encodeEventKey(key: string): string {
  let out = '';
  for (const ch of key) {
    if (/^[A-Za-z0-9\-_.*/]$/.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The event's `sequencer`: the write's version (it grows with every write of a key) as 16 upper-case hex digits. */
export const sequencerOf = (version: number): string => version.toString(16).toUpperCase().padStart(SEQUENCER_DIGITS, '0');

/** S3's record of one write: `e.written` is the engine's account of it (a created object's info, or a delete's version). */
export function s3EventRecord(e: ObjectEvent, o: { region: string; configurationId: string; time: number; origin: ObjectOrigin }): S3EventRecord {
  const w = e.written;
  const object = w.deleted
    ? { key: encodeEventKey(e.key), sequencer: sequencerOf(w.version) }
    : { key: encodeEventKey(e.key), size: w.info.size, eTag: w.info.etag, sequencer: sequencerOf(w.info.version) };
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: o.region,
    eventTime: new Date(o.time).toISOString(),
    eventName: e.event,
    userIdentity: { principalId: o.origin.principalId },
    requestParameters: { sourceIPAddress: o.origin.sourceIPAddress },
    responseElements: { 'x-amz-request-id': o.origin.requestId, 'x-amz-id-2': Buffer.from(o.origin.requestId).toString('base64') },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: o.configurationId,
      bucket: { name: e.bucket, ownerIdentity: { principalId: OWNER_ID }, arn: `arn:aws:s3:::${e.bucket}` },
      object,
    },
  };
}
