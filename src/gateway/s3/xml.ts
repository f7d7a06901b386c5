// S3's XML: answers are written as text (namespace http://s3.amazonaws.com/doc/2006-03-01/); the
// few request bodies S3 takes (Delete, CompleteMultipartUpload, CreateBucketConfiguration) are
// read by a small parser of elements and text: no DTDs, no entities beyond XML's five and
// character references, so no entity expansion can be abused.
import { S3Error } from './errors.js';

export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** A child element: text (escaped), a nested list, or nothing (omitted). */
export type XmlValue = string | number | boolean | XmlNode[] | undefined | null;
export type XmlNode = [name: string, value: XmlValue];

// XML 1.0 cannot carry most control characters even escaped; S3 has encoding-type=url for keys holding them.
const INVALID_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

export const escapeXml = (s: string): string =>
  s.replace(/[&<>"'\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : c === "'" ? '&apos;' : '&#13;'));

/** Whether a string can be carried in XML 1.0 as text. */
export const xmlSafe = (s: string): boolean => !INVALID_XML_CHAR.test(s);

function write(nodes: XmlNode[], out: string[]): void {
  for (const [name, value] of nodes) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      out.push(`<${name}>`);
      write(value, out);
      out.push(`</${name}>`);
    } else {
      const text = escapeXml(String(value));
      out.push(text === '' ? `<${name}></${name}>` : `<${name}>${text}</${name}>`);
    }
  }
}

/** A whole document: the declaration and a root element in S3's namespace. */
export function xmlDocument(root: string, children: XmlNode[], namespace: string | undefined = S3_NAMESPACE): string {
  const out = [DECLARATION, namespace ? `<${root} xmlns="${namespace}">` : `<${root}>`];
  write(children, out);
  out.push(`</${root}>`);
  return out.join('');
}

/** A parsed element: its local name (prefix dropped), child elements and text. */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

export const MAX_XML_DEPTH = 16;

const malformed = () => new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400);

/** Parses a request body; MalformedXML (S3's answer) for anything that is not one well-formed element. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const skip = (end: string) => {
    const j = text.indexOf(end, i);
    if (j < 0) throw malformed();
    i = j + end.length;
  };
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = text.slice(i, lt < 0 ? text.length : lt);
    if (chunk) {
      if (stack.length === 0) {
        if (chunk.trim()) throw malformed();
      } else stack[stack.length - 1]!.text += decodeEntities(chunk);
    }
    if (lt < 0) break;
    i = lt;
    if (text.startsWith('<?', i)) skip('?>');
    else if (text.startsWith('<!--', i)) skip('-->');
    else if (text.startsWith('<![CDATA[', i)) {
      const j = text.indexOf(']]>', i);
      if (j < 0 || stack.length === 0) throw malformed();
      stack[stack.length - 1]!.text += text.slice(i + 9, j);
      i = j + 3;
    } else if (text.startsWith('<!', i)) throw malformed(); // DOCTYPE and friends
    else if (text.startsWith('</', i)) {
      const j = text.indexOf('>', i);
      const name = localName(text.slice(i + 2, j).trim());
      const open = stack.pop();
      if (j < 0 || !open || open.name !== name) throw malformed();
      i = j + 1;
    } else {
      const j = text.indexOf('>', i);
      if (j < 0) throw malformed();
      const selfClosing = text[j - 1] === '/';
      const inner = text.slice(i + 1, selfClosing ? j - 1 : j);
      const m = /^([A-Za-z_][\w.:-]*)(\s[^]*)?$/.exec(inner);
      if (!m) throw malformed();
      const el: XmlElement = { name: localName(m[1]!), children: [], text: '' };
      if (stack.length === 0) {
        if (root) throw malformed();
        root = el;
      } else stack[stack.length - 1]!.children.push(el);
      if (!selfClosing) stack.push(el);
      if (stack.length > MAX_XML_DEPTH) throw malformed();
      i = j + 1;
    }
  }
  if (!root || stack.length) throw malformed();
  return root;
}

const localName = (qualified: string) => qualified.slice(qualified.indexOf(':') + 1);

/** XML's five predefined entities (a Map: an object's `in` would also find `constructor`, `__proto__`, …). */
const NAMED_ENTITIES = new Map([['lt', '<'], ['gt', '>'], ['amp', '&'], ['quot', '"'], ['apos', "'"]]);

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw malformed();
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!(code > 0 && code <= 0x10ffff)) throw malformed();
      return String.fromCodePoint(code);
    }
    const named = NAMED_ENTITIES.get(ref);
    if (named === undefined) throw malformed();
    return named;
  });
}

/** The first child of that name, or undefined. */
export const child = (el: XmlElement, name: string): XmlElement | undefined => el.children.find((c) => c.name === name);
/** Every child of that name. */
export const childrenOf = (el: XmlElement, name: string): XmlElement[] => el.children.filter((c) => c.name === name);
