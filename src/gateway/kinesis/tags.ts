// Stream tags (AddTagsToStream, ListTagsForStream, RemoveTagsFromStream), kept in the stream's
// Kinesis metadata, and the rules AWS applies to them beyond the lengths validation checks.
import { ACCOUNT, invalidArgument } from './errors.js';
import { changeMeta, readMeta } from './meta.js';
import { MAX_TAGS_LISTED } from './schemas.js';
import { streamNameOf } from './streams.js';
import type { KinesisCall } from './types.js';

export const MAX_TAGS_PER_STREAM = 50;
const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@%]*$/u;

/** Refuses tag keys or values with characters AWS refuses; `verb` words the message for '%'. */
function checkCharacters(stream: string, strings: Iterable<string>, verb: 'add tags to' | 'remove tags from'): void {
  const all = [...strings];
  if (all.some((s) => !TAG_CHARACTERS.test(s))) {
    throw invalidArgument('Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @ :.');
  }
  if (all.some((s) => s.includes('%'))) {
    throw invalidArgument(
      `Failed to ${verb} stream ${stream} under account ${ACCOUNT} because some tags contained illegal characters. ` +
        `The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@',':'.`,
    );
  }
}

function checkCount(stream: string, count: number): void {
  if (count > MAX_TAGS_PER_STREAM) {
    throw invalidArgument(
      `Failed to add tags to stream ${stream} under account ${ACCOUNT} because a given stream cannot have more than ${MAX_TAGS_PER_STREAM} tags associated with it.`,
    );
  }
}

/** Checks the Tags of a CreateStream as AddTagsToStream would check them on a stream without tags. */
export function checkNewTags(stream: string, tags: Map<string, string>): void {
  checkCharacters(stream, [...tags.keys(), ...tags.values()], 'add tags to');
  checkCount(stream, tags.size);
}

/** AddTagsToStream: adds or overwrites tags, at most 50 on the stream. */
export async function addTagsToStream(call: KinesisCall): Promise<undefined> {
  const name = streamNameOf(call.params);
  call.authorize(name, 'admin');
  const tags = call.params.Tags as Map<string, string>;
  const info = await call.gw.engine.describeStream(name);
  checkCharacters(name, [...tags.keys(), ...tags.values()], 'add tags to');
  await changeMeta(call.gw.engine, info, (meta) => {
    for (const [k, v] of tags) meta.tags.set(k, v);
    checkCount(name, meta.tags.size);
  });
  return undefined;
}

/** RemoveTagsFromStream: removes the tags with these keys (absent keys are ignored). */
export async function removeTagsFromStream(call: KinesisCall): Promise<undefined> {
  const name = streamNameOf(call.params);
  call.authorize(name, 'admin');
  const keys = (call.params.TagKeys as (string | null)[]).filter((k): k is string => k !== null);
  const info = await call.gw.engine.describeStream(name);
  checkCharacters(name, keys, 'remove tags from');
  await changeMeta(call.gw.engine, info, (meta) => {
    for (const k of keys) meta.tags.delete(k);
  });
  return undefined;
}

/** Tags in key order, from after ExclusiveStartTagKey, at most Limit, with HasMoreTags. */
export async function listTagsForStream(call: KinesisCall): Promise<object> {
  const name = streamNameOf(call.params);
  call.authorize(name, 'read');
  const { ExclusiveStartTagKey: after, Limit } = call.params as { ExclusiveStartTagKey?: string; Limit?: number };
  const info = await call.gw.engine.describeStream(name);
  const meta = await readMeta(call.gw.engine, info);
  const rest = [...meta.tags].filter(([k]) => after === undefined || k > after).sort(([a], [b]) => (a < b ? -1 : 1));
  const limit = Limit ?? MAX_TAGS_LISTED;
  return { Tags: rest.slice(0, limit).map(([Key, Value]) => ({ Key, Value })), HasMoreTags: rest.length > limit };
}
