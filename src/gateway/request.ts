// The request and response types of the gateway: HTTP/1.1 and HTTP/2 share Node's compat API.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

export type GatewayRequest = IncomingMessage | Http2ServerRequest;
export type GatewayResponse = ServerResponse | Http2ServerResponse;

/** Sends a JSON body with a status and extra headers. */
export function sendJson(res: GatewayResponse, status: number, body: unknown, headers: Record<string, string> = {}, contentType = 'application/json'): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A whole HTTP/1.1 error response in the gateway's JSON shape, for a socket no response object owns; it closes the connection. */
export function rawErrorResponse(status: number, code: string, message: string, headers: Record<string, string> = {}): string {
  const body = JSON.stringify({ error: { code, message } });
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, 'content-type: application/json', `content-length: ${Buffer.byteLength(body)}`, 'connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Most bytes of an unread body read and dropped after answering, so the client can read the answer. */
export const MAX_DISCARD_BYTES = 64 * 1024 * 1024;
export const DISCARD_TIMEOUT_MS = 10_000;

/**
 * After an answer to an HTTP/1.1 request whose body was not read (413 by its declared size, 401,
 * 404…): the rest of the body is read and dropped, up to MAX_DISCARD_BYTES or DISCARD_TIMEOUT_MS,
 * then the connection is closed. Closing at once would reset a client still sending: it sees EPIPE
 * or ECONNRESET instead of the answer.
 */
export function discardUnreadBody(req: GatewayRequest): void {
  if (req.complete || req.httpVersionMajor !== 1) return;
  const socket = req.socket;
  let dropped = 0;
  const timer = setTimeout(() => socket.destroy(), DISCARD_TIMEOUT_MS).unref();
  const stop = () => clearTimeout(timer);
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > MAX_DISCARD_BYTES) socket.destroy();
  });
  req.once('end', stop);
  req.once('close', stop);
  req.resume();
}
