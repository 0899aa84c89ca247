import { describe, expect, it } from 'vitest';
import { WsmanProtocolError } from './errors.ts';
import { NS } from './namespaces.ts';
import { child, parseXml, textQName } from './xml.ts';

const bad = (xml: string, limits?: { maxChars: number; maxDepth: number }) => {
  try {
    parseXml(xml, limits);
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('parseXml', () => {
  it('resolves namespaces by URI whatever the prefix (Windows s:/rsp:, OMI SOAP-ENV:, a default namespace)', () => {
    for (const xml of [
      `<s:Envelope xmlns:s="${NS.soap}"><s:Body><rsp:X xmlns:rsp="${NS.shell}" Name="a"/></s:Body></s:Envelope>`,
      `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${NS.soap}"><SOAP-ENV:Body><X xmlns="${NS.shell}" Name="a"/></SOAP-ENV:Body></SOAP-ENV:Envelope>`,
    ]) {
      const env = parseXml(xml);
      expect([env.ns, env.local]).toEqual([NS.soap, 'Envelope']);
      const x = child(child(env, NS.soap, 'Body'), NS.shell, 'X');
      expect(x?.attrs.get('Name')).toBe('a');
    }
  });

  it('decodes the XML entities and character references, CDATA as text', () => {
    const e = parseXml('<a t="&quot;&#65;&#x42;">x &amp; &lt;y&gt; &apos;<![CDATA[<raw>&amp;]]></a>');
    expect(e.text).toBe("x & <y> '<raw>&amp;");
    expect(e.attrs.get('t')).toBe('"AB');
  });

  it('resolves QNames written as text in their scope', () => {
    const e = parseXml(`<a xmlns:w="${NS.wsman}"><v>w:TimedOut</v></a>`);
    expect(textQName(e.children[0] as never)).toEqual({ ns: NS.wsman, local: 'TimedOut' });
  });

  it('refuses what a hostile server could send: a DTD, entity bombs, depth, size, bad XML, unknown prefixes', () => {
    const bomb =
      '<!DOCTYPE a [<!ENTITY x "xxxxxxxxxxxxxxxx"><!ENTITY y "&x;&x;&x;&x;&x;&x;">]><a>&y;&y;&y;</a>';
    expect(bad(bomb)).toBeInstanceOf(WsmanProtocolError);
    expect(bad('<a>&x;</a>')).toBeInstanceOf(WsmanProtocolError);
    expect(bad('<a>&#0;</a>')).toBeInstanceOf(WsmanProtocolError);
    expect(bad(`${'<a>'.repeat(40)}${'</a>'.repeat(40)}`)).toBeInstanceOf(WsmanProtocolError);
    expect(bad(`<a>${'x'.repeat(200)}</a>`, { maxChars: 100, maxDepth: 8 })).toBeInstanceOf(
      WsmanProtocolError,
    );
    expect(bad('<a><b></a>')).toBeInstanceOf(WsmanProtocolError);
    expect(bad('<p:a/>')).toBeInstanceOf(WsmanProtocolError);
    expect(bad('<a/><b/>')).toBeInstanceOf(WsmanProtocolError);
    expect(bad('<a><__proto__/></a>')).toBeInstanceOf(WsmanProtocolError);
    expect(bad('not xml')).toBeInstanceOf(WsmanProtocolError);
  });

  it('keeps a 32-deep provider fault', () => {
    expect(() => parseXml(`${'<a>'.repeat(30)}${'</a>'.repeat(30)}`)).not.toThrow();
  });
});
