// The stored form of a record batch: every record of one append that landed in one partition,
// encoded together so storage costs one row (sqlite) or one message (nats) per batch.
// Layout: u32 count, then per record: u16 keyLength+1 (0 = no key), key UTF-8, u32 valueLength, value.

export interface BatchEntry {
  key?: string;
  value: Uint8Array;
}

/** Encodes entries into one buffer. */
export function encodeBatch(entries: readonly BatchEntry[]): Buffer {
  const keys: (Buffer | undefined)[] = new Array(entries.length);
  let size = 4;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const k = e.key === undefined ? undefined : Buffer.from(e.key, 'utf8');
    keys[i] = k;
    size += 2 + (k?.length ?? 0) + 4 + e.value.length;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(entries.length, 0);
  let pos = 4;
  for (let i = 0; i < entries.length; i++) {
    const k = keys[i];
    const v = entries[i]!.value;
    out.writeUInt16BE(k === undefined ? 0 : k.length + 1, pos);
    pos += 2;
    if (k !== undefined) pos += k.copy(out, pos);
    out.writeUInt32BE(v.length, pos);
    pos += 4;
    out.set(v, pos);
    pos += v.length;
  }
  return out;
}

/** Decodes a batch; values are views into `data` (no copy). `skip` leading records are passed over. */
export function decodeBatch(data: Buffer, skip = 0, max = Infinity): BatchEntry[] {
  const count = data.readUInt32BE(0);
  const out: BatchEntry[] = [];
  let pos = 4;
  for (let i = 0; i < count && out.length < max; i++) {
    const keyField = data.readUInt16BE(pos);
    pos += 2;
    const key = keyField === 0 ? undefined : data.toString('utf8', pos, pos + keyField - 1);
    pos += keyField === 0 ? 0 : keyField - 1;
    const len = data.readUInt32BE(pos);
    pos += 4;
    if (i >= skip) out.push(key === undefined ? { value: data.subarray(pos, pos + len) } : { key, value: data.subarray(pos, pos + len) });
    pos += len;
  }
  return out;
}
