// The S3 API's XML reader against hostile entity references: only XML's five predefined entities
// and character references decode; a name an object inherits (constructor, __proto__, …) decoded
// to JavaScript source before, so a DeleteObjects key `&constructor;` named another key.
import { describe, expect, it } from 'vitest';
import { child, parseXml } from '../../src/gateway/s3/xml.js';

const keyOf = (xml: string) => child(child(parseXml(xml), 'Object')!, 'Key')!.text;

describe('S3 XML entities', () => {
  it('decodes the five predefined entities and character references', () => {
    expect(keyOf('<Delete><Object><Key>a&lt;b&gt;c&amp;d&quot;e&apos;f&#x41;&#66;</Key></Object></Delete>')).toBe('a<b>c&d"e\'fAB');
  });

  it("refuses every name an object inherits, and unknown ones, as MalformedXML", () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'nbsp', 'lt2']) {
      expect(() => keyOf(`<Delete><Object><Key>a&${name};b</Key></Object></Delete>`), name).toThrow(expect.objectContaining({ code: 'MalformedXML', status: 400 }));
    }
  });
});
