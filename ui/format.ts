// How numbers, sizes, durations and times read on the dashboard: whole numbers exact with
// thousands separators (they are compared with the API's), rates and sizes rounded.
const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ONE = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const TWO = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** 1234 → "1,234". */
export const fmtInt = (n: number): string => INT.format(n);

/** `3 pipelines`, `1 pipeline`. */
export const plural = (n: number, word: string): string => `${INT.format(n)} ${word}${n === 1 ? '' : 's'}`;

/** A rate or measure: "2,000", "12.5", "0.25", "0". */
export function fmtNum(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const a = Math.abs(n);
  if (a >= 100) return INT.format(n);
  if (a >= 10) return ONE.format(n);
  return TWO.format(n);
}

/** Per second: "2,000/s". */
export const fmtRate = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : `${fmtNum(n)}/s`);

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 45678 → "44.6 KiB". */
export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${INT.format(v)} B` : `${v >= 100 ? INT.format(v) : ONE.format(v)} ${UNITS[u]}`;
}

/** Seconds as a duration: "45s", "3m 05s", "2h 04m", "3d 4h". */
export function fmtSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 10) return `${TWO.format(s)}s`;
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(Math.floor(s % 60))}s`;
  const hr = Math.floor(m / 60);
  if (hr < 24) return `${hr}h ${pad(m % 60)}m`;
  const days = Math.floor(hr / 24);
  return days < 10 ? `${days}d ${hr % 24}h` : `${INT.format(days)}d`;
}

/** Milliseconds as the config writes durations: "7d", "24h", "2m", "90s", "500ms". */
export function fmtMs(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms >= 1000 ? `${TWO.format(ms / 1000)}s` : `${ms}ms`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Epoch ms as local "2025-12-01 14:00:05.123". */
export function fmtTime(ms: number | null | undefined, withMs = true): string {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** How long ago, from a time in ms: "12s ago". */
export function fmtAgo(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return 'never';
  const s = Math.max(0, (now - ms) / 1000);
  return s < 1 ? 'just now' : s < 60 ? `${Math.floor(s)}s ago` : `${fmtSeconds(s)} ago`;
}

/** A datetime-local input's value for epoch ms (local time, to the second). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
