// The SQLite schema of the embedded engine. One index row per record batch (not per record);
// the batch's bytes are in a segment file (segments.ts). See docs/decisions/002-record-batches.md.

/** Bumped when the schema changes; a data dir of another version is refused, not misread. */
export const SCHEMA_VERSION = 5;

/**
 * Objects (decision 018, version 5): the name as UTF-8 bytes (so the order is S3's), the content
 * as pieces, each a file named by id (several objects may share one); files no piece points into
 * wait in object_garbage until unlinked; object_seq numbers every write (versions).
 */
export const OBJECT_TABLES = `
CREATE TABLE IF NOT EXISTS objects (
  id INTEGER PRIMARY KEY,
  name BLOB NOT NULL UNIQUE,
  version INTEGER NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  md5 TEXT,
  modified INTEGER NOT NULL,
  meta TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS object_pieces (
  object INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  file TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (object, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS object_pieces_by_file ON object_pieces (file);
CREATE TABLE IF NOT EXISTS object_garbage (file TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS object_seq (id INTEGER PRIMARY KEY CHECK (id = 0), v INTEGER NOT NULL);`;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS streams (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  partitions INTEGER NOT NULL,
  retention_ms INTEGER NOT NULL,
  key_field TEXT,
  dedup_window_ms INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  segment_bytes INTEGER
);
CREATE TABLE IF NOT EXISTS heads (
  stream_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  last_ts INTEGER NOT NULL,
  seg_base INTEGER NOT NULL,
  seg_end INTEGER NOT NULL,
  bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (stream_id, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
  id INTEGER PRIMARY KEY,
  stream_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  base_offset INTEGER NOT NULL,
  count INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  seg_base INTEGER NOT NULL,
  pos INTEGER NOT NULL,
  len INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS batches_by_offset ON batches (stream_id, partition, base_offset);
CREATE INDEX IF NOT EXISTS batches_by_time ON batches (stream_id, partition, ts);
CREATE TABLE IF NOT EXISTS dedup (
  stream_id INTEGER NOT NULL,
  id TEXT NOT NULL,
  partition INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY (stream_id, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedup_by_time ON dedup (ts);
CREATE TABLE IF NOT EXISTS offsets (
  grp TEXT NOT NULL,
  stream TEXT NOT NULL,
  partition INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  PRIMARY KEY (grp, stream, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
  key TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  value BLOB NOT NULL,
  seg INTEGER,
  pos INTEGER,
  len INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state_head (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  seg INTEGER NOT NULL,
  pos INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS state_by_seg ON state (seg) WHERE seg IS NOT NULL;
${OBJECT_TABLES}`;

export interface StreamRow {
  id: number;
  name: string;
  partitions: number;
  retention_ms: number;
  key_field: string | null;
  dedup_window_ms: number;
  created_at: number;
  /** A partition's segment rolls over past this (null: the engine's segmentBytes). */
  segment_bytes: number | null;
}
