// Bad and hostile CLIXML: every case must end in a ClixmlError (never another exception, a stack overflow or a
// hang), and the XML syntax PowerShell's XmlReader accepts must be read.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { FIXTURE_PATH } from '../../scripts/clixml-fixtures.mjs';
import { ClixmlError, deserializeClixml, deserializeClixmlDocument } from './deserialize.ts';
import { PSObject, PSPrimitive } from './value.ts';

function errorOf(f: () => unknown): ClixmlError {
  try {
    f();
  } catch (e) {
    if (e instanceof ClixmlError) return e;
    throw new Error(`expected a ClixmlError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  throw new Error('expected a ClixmlError, got a value');
}

describe('deserializeClixml: XML syntax', () => {
  it.each([
    ['\ufeff<?xml version="1.0" encoding="utf-8"?>\r\n<S>x</S>\r\n', 'x'],
    ['<S><![CDATA[a<b&c]]></S>', 'a<b&c'],
    ['<S>1<![CDATA[<2>]]>3</S>', '1<2>3'],
    ['<S>&#x41;&#66;&lt;&gt;&amp;&quot;&apos;</S>', 'AB<>&"\''],
    ['<S>&#x1F3B5;</S>', '🎵'],
    ['<S />', ''],
    ['<S></S >', ''],
    ['<S>  spaced  </S>', '  spaced  '],
    ['<Nil />', null],
    ['<Nil></Nil>', null],
    ['<B>true</B>', true],
    ['<B>false</B>', false],
    ['<I32> 7 </I32>', 7],
  ])('%j', (xml, want) => {
    expect(deserializeClixml(xml)).toBe(want);
  });

  it('integers: sign, surrounding whitespace, exact 64-bit values beyond 2^53', () => {
    expect(deserializeClixml('<I32>+5</I32>')).toBe(5);
    expect(deserializeClixml('<I32>\n-0012\t</I32>')).toBe(-12);
    expect(deserializeClixml('<I64> 9007199254740993 </I64>')).toEqual(
      new PSPrimitive('I64', 9007199254740993n),
    );
    expect(deserializeClixml('<I64>-9223372036854775808</I64>')).toEqual(
      new PSPrimitive('I64', -(2n ** 63n)),
    );
    expect(deserializeClixml('<U64>18446744073709551615</U64>')).toEqual(
      new PSPrimitive('U64', 2n ** 64n - 1n),
    );
    for (const bad of [
      '<I32>-</I32>',
      '<I32>1 2</I32>',
      '<I32>\u0663</I32>',
      '<I64>1e3</I64>',
      '<U32>4294967296</U32>',
    ])
      expect(errorOf(() => deserializeClixml(bad)).errorId, bad).toBe('ClixmlMalformed');
  });

  it('attributes in either quote style, any order, with whitespace around =', () => {
    const v = deserializeClixml(
      `<Obj RefId = '0' ><MS>\n\t<S N='a&amp;b'>1</S>\n<I32 Foo="x" N = "c" >2</I32></MS></Obj>`,
    ) as PSObject;
    expect([...v.extended]).toEqual([
      ['a&b', '1'],
      ['c', 2],
    ]);
  });

  it('Ref resolves to the same PSObject; RefIds are per document', () => {
    const xml =
      '<Obj RefId="0"><LST><Obj RefId="1"><MS><I32 N="V">1</I32></MS></Obj><Ref RefId="1" /></LST></Obj>';
    const a = deserializeClixml(xml) as PSObject;
    const items = (a.baseValue as { items: unknown[] }).items;
    expect(items[0]).toBe(items[1]);
    const b = deserializeClixml(xml) as PSObject;
    expect((b.baseValue as { items: unknown[] }).items[0]).not.toBe(items[0]);
    expect(errorOf(() => deserializeClixml('<Ref RefId="1" />')).errorId).toBe('ClixmlMalformed');
  });

  it('large non-sequential RefIds work', () => {
    const v = deserializeClixml(
      '<Obj RefId="0"><LST><Obj RefId="99999999"><MS /></Obj><Ref RefId="99999999" /><Obj RefId="x1" /><Ref RefId="x1" /></LST></Obj>',
    ) as PSObject;
    const items = (v.baseValue as { items: unknown[] }).items;
    expect(items[1]).toBe(items[0]);
    expect(items[3]).toBe(items[2]);
  });

  it('Deserialized. type names are kept as written', () => {
    const v = deserializeClixml(
      '<Obj RefId="0"><TN RefId="0"><T>Deserialized.System.IO.FileInfo</T><T>Deserialized.System.Object</T></TN><ToString>f</ToString></Obj>',
    ) as PSObject;
    expect(v.typeNames).toEqual(['Deserialized.System.IO.FileInfo', 'Deserialized.System.Object']);
    expect(v.isA('System.IO.FileInfo')).toBe(true);
    expect(v.toString()).toBe('f');
  });

  it('escapes are decoded in N, T and ToString', () => {
    const v = deserializeClixml(
      '<Obj RefId="0"><TN RefId="0"><T>a_x0009_b</T></TN><ToString>_x000A_</ToString><MS><S N="_x0041__x005F_x">v</S></MS></Obj>',
    ) as PSObject;
    expect(v.typeNames).toEqual(['a\tb']);
    expect(v.toStringValue).toBe('\n');
    expect(v.extended.get('A_x')).toBe('v');
  });

  it('a nested <MS N=...> property set becomes an object under that name', () => {
    const v = deserializeClixml(
      '<Obj RefId="0"><MS><Obj N="mr" RefId="1"><MS><S N="k">v</S></MS></Obj><MS N="set"><I32 N="x">1</I32></MS></MS></Obj>',
    ) as PSObject;
    expect((v.get('mr') as PSObject).get('k')).toBe('v');
    expect((v.get('set') as PSObject).get('x')).toBe(1);
  });

  it('the <SemanticVersion> primitive tag (MS-PSRP 2.2.5.1.25)', () => {
    expect(deserializeClixml('<SemanticVersion>1.2.3-a</SemanticVersion>')).toEqual(
      new PSPrimitive('SemanticVersion', '1.2.3-a'),
    );
  });

  it('an empty document and one without the Objs root', () => {
    expect(
      deserializeClixmlDocument(
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04" />',
      ),
    ).toEqual([]);
    expect(errorOf(() => deserializeClixmlDocument('<S>x</S>')).errorId).toBe('ClixmlMalformed');
  });
});

describe('deserializeClixml: bad input gives ClixmlError', () => {
  it.each([
    ['', 'ClixmlMalformed'],
    ['   ', 'ClixmlMalformed'],
    ['hello', 'ClixmlMalformed'],
    ['<', 'ClixmlMalformed'],
    ['</S>', 'ClixmlMalformed'],
    ['<S', 'ClixmlMalformed'],
    ['<S>abc', 'ClixmlMalformed'],
    ['<S>abc</I32>', 'ClixmlMalformed'],
    ['<S>abc</S', 'ClixmlMalformed'],
    ['<S>a</S><S>b</S>', 'ClixmlMalformed'],
    ['<S N="unterminated>x</S>', 'ClixmlMalformed'],
    ['<S N=unquoted>x</S>', 'ClixmlMalformed'],
    ['<S N>x</S>', 'ClixmlMalformed'],
    ['<S>a<![CDATA[b</S>', 'ClixmlMalformed'],
    ['<S>a & b</S>', 'ClixmlMalformed'],
    ['<S>&foo;</S>', 'ClixmlMalformed'],
    ['<S>&amp</S>', 'ClixmlMalformed'],
    ['<S>&#0;</S>', 'ClixmlMalformed'],
    ['<S>&#xD800;</S>', 'ClixmlMalformed'],
    ['<S>&#x110000;</S>', 'ClixmlMalformed'],
    ['<Obj RefId="0"><MS><S N="&bad;">x</S></MS></Obj>', 'ClixmlMalformed'],
    ['<Foo>1</Foo>', 'ClixmlMalformed'],
    ['<Obj RefId="0"><Foo /></Obj>', 'ClixmlMalformed'],
    ['<I32>12x</I32>', 'ClixmlMalformed'],
    ['<I32></I32>', 'ClixmlMalformed'],
    ['<I32>2147483648</I32>', 'ClixmlMalformed'],
    ['<By>256</By>', 'ClixmlMalformed'],
    ['<U64>-1</U64>', 'ClixmlMalformed'],
    ['<I64>9223372036854775808</I64>', 'ClixmlMalformed'],
    ['<Db>1.2.3</Db>', 'ClixmlMalformed'],
    ['<Db>0x10</Db>', 'ClixmlMalformed'],
    ['<D>1e</D>', 'ClixmlMalformed'],
    ['<B>yes</B>', 'ClixmlMalformed'],
    ['<C>65536</C>', 'ClixmlMalformed'],
    ['<Ref RefId="0" />', 'ClixmlMalformed'],
    ['<Ref />', 'ClixmlMalformed'],
    ['<Obj RefId="0"><TNRef RefId="3" /></Obj>', 'ClixmlMalformed'],
    ['<Obj RefId="0"><TN RefId="0"><S>x</S></TN></Obj>', 'ClixmlMalformed'],
    ['<Obj RefId="0"><TN RefId="0"><T>x</T></TN>', 'ClixmlMalformed'],
    ['<Obj RefId="0"><DCT><S>x</S></DCT></Obj>', 'ClixmlMalformed'],
    ['<Obj RefId="0"><LST><S>x</S></Obj>', 'ClixmlMalformed'],
    ['<Obj RefId="0"><MS><S N="a">1</S>', 'ClixmlMalformed'],
    ['<Objs><S>x</S>', 'ClixmlMalformed'],
    ['<?xml version="1.0"', 'ClixmlMalformed'],
  ])('%j', (xml, id) => {
    const e = errorOf(() =>
      xml.startsWith('<Objs') ? deserializeClixmlDocument(xml) : deserializeClixml(xml),
    );
    expect(e.errorId).toBe(id);
    expect(e.offset).toBeGreaterThanOrEqual(0);
    expect(e.offset).toBeLessThanOrEqual(xml.length);
  });

  it.each([
    ['LST', (n: number) => `${'<Obj RefId="0"><LST>'.repeat(n)}${'</LST></Obj>'.repeat(n)}`],
    ['MS', (n: number) => `<Obj RefId="0">${'<MS N="a">'.repeat(n)}${'</MS>'.repeat(n)}</Obj>`],
    ['Props', (n: number) => `<Obj RefId="0">${'<Props N="a">'.repeat(n)}${'</Props>'.repeat(n)}</Obj>`],
    [
      'DCT',
      (n: number) =>
        `${'<Obj RefId="0"><DCT><En><S N="Key">k</S><Obj N="Value" RefId="1"><DCT><En>'.repeat(n)}`,
    ],
    ['Obj in MS', (n: number) => `${'<Obj N="x" RefId="0"><MS>'.repeat(n)}`],
    ['unclosed', (n: number) => '<Obj><LST>'.repeat(n)],
  ])("a depth bomb (%s, 200k levels) stops at PowerShell's depth limit", (_kind, make) => {
    const xml = make(200_000);
    const e = errorOf(() => deserializeClixml(xml));
    expect(e.errorId).toBe('DeserializationTooDeep');
    expect(e.message).toMatch(/^Serialized XML is nested too deeply\./);
    expect(e.offset).toBeLessThan(5_000);
  });

  // The boundaries below were checked against pwsh 7.6 ([PSSerializer]::Deserialize): n nested objects holding
  // an I32 read at n = 48 and fail with "Serialized XML is nested too deeply." at n = 49, for LST items, DCT
  // values and Props alike; an enum's I32 base value does not count as a level (48 nested enums read).
  const inLst = (n: number) => `${'<Obj RefId="0"><LST>'.repeat(n)}<I32>1</I32>${'</LST></Obj>'.repeat(n)}`;
  const inProps = (n: number) =>
    `${'<Obj N="p" RefId="0"><Props>'.repeat(n)}<I32 N="p">1</I32>${'</Props></Obj>'.repeat(n)}`;
  const inDct = (n: number) =>
    `${'<Obj N="Value" RefId="0"><DCT><En><S N="Key">k</S>'.repeat(n)}<I32 N="Value">1</I32>${'</En></DCT></Obj>'.repeat(n)}`;
  const enumAt = (n: number) =>
    `${'<Obj N="p" RefId="0"><Props>'.repeat(n)}<Obj N="p" RefId="1"><TN RefId="0"><T>System.ConsoleColor</T><T>System.Enum</T></TN><ToString>Red</ToString><I32>12</I32></Obj>${'</Props></Obj>'.repeat(n)}`;
  it.each([
    ['LST', inLst],
    ['Props', inProps],
    ['DCT', inDct],
    ['an enum', enumAt],
  ])('%s nesting: 48 levels read, 49 are DeserializationTooDeep (as pwsh 7.6)', (_kind, nest) => {
    expect(deserializeClixml(nest(48))).toBeInstanceOf(PSObject);
    expect(errorOf(() => deserializeClixml(nest(49))).errorId).toBe('DeserializationTooDeep');
    const doc = (x: string) => `<Objs Version="1.1.0.1">${x}</Objs>`;
    expect(deserializeClixmlDocument(doc(nest(48)))).toHaveLength(1);
    expect(errorOf(() => deserializeClixmlDocument(doc(nest(49)))).errorId).toBe('DeserializationTooDeep');
  });

  it('maxDepth is an option; nesting within it is read', () => {
    expect(errorOf(() => deserializeClixml(inLst(9), { maxDepth: 10 })).errorId).toBe(
      'DeserializationTooDeep',
    );
    expect(deserializeClixml(inLst(8), { maxDepth: 10 })).toBeInstanceOf(PSObject);
    expect(deserializeClixml(inLst(150), { maxDepth: 200 })).toBeInstanceOf(PSObject);
  });

  it('input longer than maxLength is refused before it is read', () => {
    const e = errorOf(() => deserializeClixml(`<S>${'a'.repeat(2000)}</S>`, { maxLength: 1000 }));
    expect(e.errorId).toBe('ClixmlTooLarge');
    expect(errorOf(() => deserializeClixmlDocument('<Objs>'.padEnd(2000), { maxLength: 1000 })).errorId).toBe(
      'ClixmlTooLarge',
    );
  });

  it('a huge attribute and a huge text are read in linear time', () => {
    const big = 'n'.repeat(20_000_000);
    const t = performance.now();
    const v = deserializeClixml(`<Obj RefId="0"><MS><S N="${big}">${big}</S></MS></Obj>`) as PSObject;
    expect(v.extended.get(big)).toHaveLength(big.length);
    expect(errorOf(() => deserializeClixml(`<S N="${big}>x</S>`)).errorId).toBe('ClixmlMalformed');
    expect(performance.now() - t).toBeLessThan(5000);
  });

  it('many unknown attributes and much whitespace do not hang', () => {
    const attrs = ' a="1"'.repeat(200_000);
    expect(deserializeClixml(`<S${attrs}>x</S>`)).toBe('x');
    expect(deserializeClixml(`<Obj RefId="0">${' \n'.repeat(1_000_000)}</Obj>`)).toBeInstanceOf(PSObject);
  });

  it('every truncation of a real pwsh document is a ClixmlError', () => {
    const fixtures = JSON.parse(readFileSync(FIXTURE_PATH as string, 'utf8')) as Array<{
      name: string;
      xml: string;
    }>;
    for (const name of ['file_info', 'hashtable_typed_keys', 'string_control', 'ref_twice']) {
      const xml = (fixtures.find((f) => f.name === name) as { xml: string }).xml.trimEnd();
      for (let n = 0; n < xml.length; n++) {
        const e = errorOf(() => deserializeClixmlDocument(xml.slice(0, n)));
        expect(e.errorId).toBe('ClixmlMalformed');
      }
    }
  });

  it('random corruptions of a real pwsh document give a value or a ClixmlError, nothing else', () => {
    const fixtures = JSON.parse(readFileSync(FIXTURE_PATH as string, 'utf8')) as Array<{
      name: string;
      xml: string;
    }>;
    const xml = (fixtures.find((f) => f.name === 'file_info') as { xml: string }).xml;
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const alphabet = '<>/="\' &;_x0AZ!?[]-';
    for (let round = 0; round < 3000; round++) {
      const chars = xml.split('');
      for (let k = 0; k < 1 + rand(4); k++)
        chars[rand(chars.length)] = alphabet[rand(alphabet.length)] as string;
      try {
        deserializeClixmlDocument(chars.join(''));
      } catch (e) {
        if (!(e instanceof ClixmlError))
          throw new Error(`round ${round}: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
  });
});
