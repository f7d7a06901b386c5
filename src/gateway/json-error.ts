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
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  const offset = first?.offset ?? text.length;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column, offset, reason: first ? printParseErrorCode(first.error) : fallback.message };
}
