// Prepared statements of the embedded engine, prepared once per connection.
import type Database from 'better-sqlite3';

type Stmt = Database.Statement<unknown[], unknown>;

export class Statements {
  readonly streamByName: Stmt;
  readonly allStreams: Stmt;
  readonly insertStream: Stmt;
  readonly deleteStream: Stmt;
  readonly deleteBatches: Stmt;
  readonly deleteHeads: Stmt;
  readonly deleteDedup: Stmt;
  readonly headGet: Stmt;
  readonly headUpsert: Stmt;
  readonly firstBatch: Stmt;
  readonly insertBatch: Stmt;
  readonly batchContaining: Stmt;
  readonly batchesAfter: Stmt;
  readonly firstBatchAtOrAfterTime: Stmt;
  readonly dedupGet: Stmt;
  readonly dedupInsert: Stmt;
  readonly deleteExpired: Stmt;
  readonly trimBatches: Stmt;
  readonly headBytes: Stmt;
  readonly updateRetention: Stmt;
  readonly deleteExpiredDedup: Stmt;
  readonly offsetsOf: Stmt;
  readonly offsetUpsert: Stmt;
  readonly stateGet: Stmt;
  readonly stateVersion: Stmt;
  readonly stateRange: Stmt;
  readonly stateUpsert: Stmt;
  readonly stateDelete: Stmt;

  constructor(db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.streamByName = p('SELECT * FROM streams WHERE name = ?');
    this.allStreams = p('SELECT * FROM streams ORDER BY name');
    this.insertStream = p(
      'INSERT INTO streams (name, partitions, retention_ms, key_field, dedup_window_ms, created_at, segment_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.deleteStream = p('DELETE FROM streams WHERE id = ?');
    this.deleteBatches = p('DELETE FROM batches WHERE stream_id = ?');
    this.deleteHeads = p('DELETE FROM heads WHERE stream_id = ?');
    this.deleteDedup = p('DELETE FROM dedup WHERE stream_id = ?');
    this.headGet = p('SELECT next_offset, last_ts, seg_base, seg_end, bytes FROM heads WHERE stream_id = ? AND partition = ?');
    this.headUpsert = p(
      'INSERT INTO heads (stream_id, partition, next_offset, last_ts, seg_base, seg_end, bytes) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (stream_id, partition) DO UPDATE SET next_offset = excluded.next_offset, last_ts = excluded.last_ts, ' +
        'seg_base = excluded.seg_base, seg_end = excluded.seg_end, bytes = heads.bytes + excluded.bytes',
    );
    this.firstBatch = p('SELECT base_offset, seg_base FROM batches WHERE stream_id = ? AND partition = ? ORDER BY base_offset LIMIT 1');
    this.insertBatch = p('INSERT INTO batches (stream_id, partition, base_offset, count, ts, seg_base, pos, len) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.batchContaining = p(
      'SELECT base_offset, count, ts, seg_base, pos, len FROM batches WHERE stream_id = ? AND partition = ? AND base_offset <= ? ' +
        'ORDER BY base_offset DESC LIMIT 1',
    );
    this.batchesAfter = p(
      'SELECT base_offset, count, ts, seg_base, pos, len FROM batches WHERE stream_id = ? AND partition = ? AND base_offset > ? ORDER BY base_offset',
    );
    this.firstBatchAtOrAfterTime = p(
      'SELECT base_offset FROM batches WHERE stream_id = ? AND partition = ? AND ts >= ? ORDER BY ts, base_offset LIMIT 1',
    );
    this.dedupGet = p('SELECT partition, offset, ts FROM dedup WHERE stream_id = ? AND id = ?');
    this.dedupInsert = p(
      'INSERT INTO dedup (stream_id, id, partition, offset, ts) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (stream_id, id) DO UPDATE SET partition = excluded.partition, offset = excluded.offset, ts = excluded.ts',
    );
    this.deleteExpired = p('DELETE FROM batches WHERE stream_id = ? AND ts < ? RETURNING partition, len');
    this.trimBatches = p('DELETE FROM batches WHERE stream_id = ? AND partition = ? AND base_offset + count <= ? RETURNING partition, len');
    this.headBytes = p('UPDATE heads SET bytes = bytes - ? WHERE stream_id = ? AND partition = ?');
    this.updateRetention = p('UPDATE streams SET retention_ms = ? WHERE id = ?');
    this.deleteExpiredDedup = p('DELETE FROM dedup WHERE stream_id = ? AND ts < ?');
    this.offsetsOf = p('SELECT partition, offset FROM offsets WHERE grp = ? AND stream = ? ORDER BY partition');
    this.offsetUpsert = p(
      'INSERT INTO offsets (grp, stream, partition, offset) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (grp, stream, partition) DO UPDATE SET offset = excluded.offset',
    );
    this.stateGet = p('SELECT version, value, seg, pos, len FROM state WHERE key = ?');
    this.stateVersion = p('SELECT version, seg FROM state WHERE key = ?');
    this.stateRange = p('SELECT key, version, value, seg, pos, len FROM state WHERE key >= ? AND key < ? ORDER BY key');
    this.stateUpsert = p(
      'INSERT INTO state (key, version, value, seg, pos, len) VALUES (?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (key) DO UPDATE SET version = excluded.version, value = excluded.value, seg = excluded.seg, pos = excluded.pos, len = excluded.len',
    );
    this.stateDelete = p('DELETE FROM state WHERE key = ?');
  }
}
