import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { WsmanProtocolError } from './errors.ts';
import { NS } from './namespaces.ts';

/** An element with its namespace resolved. Unqualified attributes are keyed by name, qualified ones `{ns}local`. */
export interface XmlElement {
  readonly ns: string;
  readonly local: string;
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** The element's own text (character data and CDATA, entities decoded), untrimmed. */
  readonly text: string;
  /** Prefixes in scope, to resolve QNames inside text (a fault's `s:Value>w:TimedOut<`). */
  readonly scope: ReadonlyMap<string, string>;
}

export interface XmlLimits {
  /** Longest document accepted, in characters (the HTTP layer caps bytes before this). */
  readonly maxChars: number;
  /** Deepest element nesting accepted. SOAP faults with a provider fault nest about 10 deep. */
  readonly maxDepth: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxChars: 4 * 1024 * 1024, maxDepth: 32 };

// No DTD, no entity expansion, no number or value guessing: the raw text is decoded here, by the five XML entities
// and character references only, so a hostile document cannot grow in the parser.
const parser = (maxDepth: number) =>
  new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    processEntities: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    cdataPropName: '#cdata',
    maxNestedTags: maxDepth,
  });

const ENTITY = /&(?:(amp|lt|gt|quot|apos)|#(\d{1,7})|#x([0-9A-Fa-f]{1,6}));|&/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(
    ENTITY,
    (m, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
      if (named) return NAMED[named] as string;
      const cp = dec !== undefined ? Number(dec) : hex !== undefined ? Number.parseInt(hex, 16) : Number.NaN;
      if (Number.isNaN(cp)) throw new WsmanProtocolError(`the response has an undefined entity near '${m}'`);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0)
        throw new WsmanProtocolError('the response has an invalid character reference');
      return String.fromCodePoint(cp);
    },
  );
}

type RawNode = Record<string, unknown>;

/**
 * Parses a SOAP response into namespace-resolved elements, within limits; anything else is a WsmanProtocolError.
 * A SOAP message must not carry a DTD (SOAP 1.2 part 1, 5), so one is refused outright.
 */
export function parseXml(text: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  if (text.length > limits.maxChars)
    throw new WsmanProtocolError(`the response is larger than ${limits.maxChars} characters`);
  if (/<!DOCTYPE/i.test(text)) throw new WsmanProtocolError('the response carries a DTD');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new WsmanProtocolError(`the response is not well-formed XML: ${valid.err.msg}`);
  let raw: unknown;
  try {
    raw = parser(limits.maxDepth).parse(text);
  } catch (e) {
    throw new WsmanProtocolError(`the response could not be parsed: ${(e as Error).message}`, e);
  }
  const roots = (raw as RawNode[]).filter((n) => !('#text' in n) && !('?xml' in n));
  if (roots.length !== 1) throw new WsmanProtocolError('the response has no single root element');
  return toElement(roots[0] as RawNode, new Map([['xml', NS.xml]]), 0, limits.maxDepth);
}

function toElement(
  node: RawNode,
  scope: ReadonlyMap<string, string>,
  depth: number,
  max: number,
): XmlElement {
  if (depth > max) throw new WsmanProtocolError('the response nests too deep');
  const tag = Object.keys(node).find((k) => k !== ':@');
  if (tag === undefined) throw new WsmanProtocolError('the response has an empty node');
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  let inner = scope;
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) {
      if (inner === scope) inner = new Map(scope);
      (inner as Map<string, string>).set(k === 'xmlns' ? '' : k.slice(6), decodeEntities(v));
    }
  }
  const resolve = (qname: string, isAttr: boolean): { ns: string; local: string } => {
    const i = qname.indexOf(':');
    if (i < 0) return { ns: isAttr ? '' : (inner.get('') ?? ''), local: qname };
    const prefix = qname.slice(0, i);
    const ns = inner.get(prefix);
    if (ns === undefined) throw new WsmanProtocolError(`the response uses an undeclared prefix '${prefix}'`);
    return { ns, local: qname.slice(i + 1) };
  };
  const { ns, local } = resolve(tag, false);
  const attrs = new Map<string, string>();
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    const a = resolve(k, true);
    attrs.set(a.ns === '' ? a.local : `{${a.ns}}${a.local}`, decodeEntities(v));
  }
  const children: XmlElement[] = [];
  let text = '';
  for (const c of (node[tag] ?? []) as RawNode[]) {
    if ('#text' in c) text += decodeEntities(String(c['#text']));
    else if ('#cdata' in c)
      text += ((c['#cdata'] ?? []) as RawNode[]).map((t) => String(t['#text'] ?? '')).join('');
    else children.push(toElement(c, inner, depth + 1, max));
  }
  return { ns, local, attrs, children, text, scope: inner };
}

/** A QName written as text (`w:TimedOut`), resolved in the element's scope; undefined if the prefix is unknown. */
export function textQName(el: XmlElement): { ns: string; local: string } | undefined {
  const t = el.text.trim();
  const i = t.indexOf(':');
  const ns = el.scope.get(i < 0 ? '' : t.slice(0, i));
  return ns === undefined ? undefined : { ns, local: i < 0 ? t : t.slice(i + 1) };
}

/** The first child with this namespace and local name. */
export function child(el: XmlElement | undefined, ns: string, local: string): XmlElement | undefined {
  return el?.children.find((c) => c.ns === ns && c.local === local);
}

/** All children with this namespace and local name. */
export function childrenOf(el: XmlElement | undefined, ns: string, local: string): XmlElement[] {
  return el ? el.children.filter((c) => c.ns === ns && c.local === local) : [];
}

/** The element's text followed by its descendants' text. */
export function deepText(el: XmlElement): string {
  return el.text + el.children.map(deepText).join('');
}
