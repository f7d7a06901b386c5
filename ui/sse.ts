// Server-Sent Events read with fetch: EventSource cannot send the Authorization header, so the
// live tail reads `text/event-stream` as text and parses it here (the WHATWG rules it needs:
// `data:` lines joined, `event:`, `id:`, comments, any line ending, chunks cut anywhere).
import { ApiError, apiFetch } from './api.js';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export class SseParser {
  private buf = '';
  private data: string[] = [];
  private event = '';
  private id?: string;

  /** Feeds text as it arrives; returns the events it completed. */
  push(chunk: string): SseEvent[] {
    const events: SseEvent[] = [];
    this.buf += chunk;
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i + 1 === this.buf.length) break; // a \r at the end may be half of \r\n
      this.line(this.buf.slice(start, i), events);
      if (c === 13 && this.buf.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.buf = this.buf.slice(start);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) events.push({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return; // a comment: keep-alives
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

/** Reads an SSE endpoint until it ends or `signal` aborts (then it resolves quietly). */
export async function readEvents(path: string, signal: AbortSignal, onOpen: () => void, onEvent: (e: SseEvent) => void): Promise<void> {
  try {
    const res = await apiFetch(path, { signal, headers: { accept: 'text/event-stream' } });
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
      throw new ApiError(res.status, body?.error?.code ?? `HTTP${res.status}`, body?.error?.message ?? res.statusText);
    }
    onOpen();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const e of parser.push(value)) onEvent(e);
    }
  } catch (e) {
    if (signal.aborted) return;
    throw e;
  }
}
