// Says where a JSON text is malformed. V8's messages only sometimes carry a position, so on
// failure (never on the hot path) the text is re-scanned with jsonc-parser in strict mode.
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';

export interface JsonErrorLocation {
  line: number;
  column: number;
  /** Character offset in the text. */
  offset: number;
  reason: string;
}

export function locateJsonError(text: string, fallback: Error): JsonErrorLocation {
  const errors: ParseError[] = [];
  try {
    parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  } catch (e) {
    // jsonc-parser recurses per level: malformed text nested thousands deep overflows its stack.
    // V8's own message then says where (Node 20: "... in JSON at position N").
    if (!(e instanceof RangeError)) throw e;
    const at = /at position (\d+)/.exec(fallback.message);
    return locationAt(text, at ? Number(at[1]) : text.length, fallback.message.replace(/ in JSON at position \d+.*$/s, ''));
  }
  const first = errors[0];
  return locationAt(text, first?.offset ?? text.length, first ? printParseErrorCode(first.error) : fallback.message);
}

function locationAt(text: string, offset: number, reason: string): JsonErrorLocation {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column, offset, reason };
}
