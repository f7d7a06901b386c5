// Records' JSON, pretty-printed with colours for keys, strings, numbers and literals, built
// from text nodes (a record holds whatever a client sent: nothing of it becomes markup).
import { h } from './dom.js';

/** Larger records are shown as plain text: colouring thousands of nodes costs more than it gives. */
const MAX_COLOURED_CHARS = 20_000;
/** An array or object whose one-line form fits in this many characters stays on one line. */
const INLINE_WIDTH = 72;

/**
 * JSON indented by two spaces, except that arrays and objects short enough stay on one line
 * (`"tags": ["a", "b"]`), so a record reads in a few lines. JSON.parse gives the value back.
 */
export function prettyJson(value: unknown, indent = ''): string {
  const flat = inline(value);
  if (flat === undefined) return 'null';
  if (value === null || typeof value !== 'object' || indent.length + flat.length <= INLINE_WIDTH) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + prettyJson(v ?? null, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined && typeof v !== 'function');
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`).join(',\n')}\n${indent}}`;
}

/** One line with a space after each comma and colon: `{"a": [1, 2]}`. */
export function inline(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => inline(v) ?? 'null').join(', ')}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const t = inline(v);
    if (t !== undefined) parts.push(`${JSON.stringify(k)}: ${t}`);
  }
  return `{${parts.join(', ')}}`;
}

export function jsonView(value: unknown, pretty = true): HTMLElement {
  const text = (pretty ? prettyJson(value) : inline(value)) ?? 'undefined';
  const pre = h('pre', { class: pretty ? 'json' : 'json compact' });
  if (text.length > MAX_COLOURED_CHARS) pre.textContent = text;
  else pre.append(colour(text));
  return pre;
}

const TOKEN = /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b/g;

/** Spans around the tokens of JSON text (as JSON.stringify wrote it). */
function colour(text: string): DocumentFragment {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    if (m.index > last) out.append(text.slice(last, m.index));
    const cls = m[1] !== undefined ? (m[2] !== undefined ? 'j-key' : 'j-str') : m[3] !== undefined ? 'j-num' : 'j-lit';
    out.append(h('span', { class: cls }, m[1] ?? m[0]));
    if (m[2]) out.append(m[2]);
    last = m.index + m[0].length;
  }
  out.append(text.slice(last));
  return out;
}
