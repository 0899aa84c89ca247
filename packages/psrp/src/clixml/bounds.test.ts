/**
 * Hostile CLIXML: every size, count and nesting a server controls costs bounded time, memory and stack, in the
 * deserializer and in everything that walks what it returns. Timings are generous bounds (a quadratic or
 * exponential walk takes minutes on these inputs, a linear one milliseconds), not benchmarks.
 */
import { describe, expect, it } from 'vitest';
import { decodeErrorRecord, decodeInformationRecord } from '../records/records.ts';
import { ClixmlError, deserializeClixml } from './deserialize.ts';
import { decodeClixmlString, encodeClixmlString, escapeXml } from './escape.ts';
import { serializeClixml } from './serialize.ts';
import { PSDictionary, PSList, PSObject, PSPrimitive, type PSValue } from './value.ts';

// Generous: the suite shares a loaded machine. A quadratic walk over these inputs takes minutes.
const BOUND_MS = 5000;

function timed<T>(fn: () => T): T {
  const t = performance.now();
  const v = fn();
  expect(performance.now() - t).toBeLessThan(BOUND_MS);
  return v;
}

function clixmlError(fn: () => unknown): ClixmlError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ClixmlError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('no backtracking over server text: numbers', () => {
  const digits = '1'.repeat(200_000);
  it.each([
    ['D', `${digits}a`],
    ['D', `${digits}.${digits}e`],
    ['D', ` ${digits} x`],
    ['Db', `${digits}a`],
    ['Db', `${digits}.${digits}E+`],
    ['Sg', `.${digits}e-x`],
    ['I64', `${digits}a`],
    ['U64', `-${digits}`],
    ['I32', `${digits}a`],
  ])('<%s> of 200k+ digits then a bad character: ClixmlMalformed at once', (tag, text) => {
    const e = timed(() => clixmlError(() => deserializeClixml(`<${tag}>${text}</${tag}>`)));
    expect(e.errorId).toBe('ClixmlMalformed');
    // The error quotes the peer's text clipped, not 200k characters of it.
    expect(e.message.length).toBeLessThan(200);
  });

  it('long but valid numbers are read (D kept as text; Db as a double); giant integers are out of range', () => {
    const d = timed(() => deserializeClixml(`<D>${digits}.5</D>`)) as PSPrimitive<'D'>;
    expect(d.value).toHaveLength(digits.length + 2);
    expect(timed(() => deserializeClixml(`<Db>${digits}</Db>`))).toEqual(
      new PSPrimitive('Db', Number(digits)),
    );
    expect(
      timed(() => clixmlError(() => deserializeClixml(`<I64>${'9'.repeat(1_000_000)}</I64>`))).errorId,
    ).toBe('ClixmlMalformed');
    // Leading zeros do not count.
    expect((deserializeClixml(`<I64>-${'0'.repeat(1_000_000)}42</I64>`) as PSPrimitive).value).toBe(-42n);
    expect((deserializeClixml('<U64>18446744073709551615</U64>') as PSPrimitive).value).toBe(2n ** 64n - 1n);
    expect(clixmlError(() => deserializeClixml('<U64>18446744073709551616</U64>')).errorId).toBe(
      'ClixmlMalformed',
    );
    for (const ok of ['1', '-1.5', '+.5', '1.', '1e5', '1.5E-3', ' 7 ']) {
      expect((deserializeClixml(`<D>${ok}</D>`) as PSPrimitive).value).toBe(ok.trim());
    }
    for (const bad of ['', '.', '-', 'e5', '1e', '1e+', '1..2', '0x10', '1 2']) {
      expect(clixmlError(() => deserializeClixml(`<D>${bad}</D>`)).errorId).toBe('ClixmlMalformed');
    }
  });

  it("the file form's ProgressRecord numbers", () => {
    const v = timed(() => deserializeClixml(`<PR><PC>${digits}x</PC><AI>-5</AI></PR>`)) as PSObject;
    expect(v.adapted.get('PercentComplete')).toBe(`${digits}x`);
    expect(v.adapted.get('ActivityId')).toBe(-5);
  });
});

describe('entities and _xHHHH_ escapes: one linear pass', () => {
  it('a million &amp; decode to a million & in one string', () => {
    const v = timed(() => deserializeClixml(`<S>${'&amp;'.repeat(1_000_000)}</S>`));
    expect(v).toBe('&'.repeat(1_000_000));
  });

  it.each([
    ['bare &', '&'.repeat(1_000_000)],
    ['& never closed', `&amp${'x'.repeat(1_000_000)}`],
    ['&# without ;', '&#12345678'.repeat(100_000)],
    ['&#x followed by a million hex digits', `&#x${'0'.repeat(1_000_000)};`],
  ])('%s: ClixmlMalformed at once', (_name, text) => {
    expect(timed(() => clixmlError(() => deserializeClixml(`<S>${text}</S>`))).errorId).toBe(
      'ClixmlMalformed',
    );
  });

  it('every entity form still decodes, in text and in N', () => {
    const v = deserializeClixml(
      '<Obj RefId="0"><MS><S N="a&amp;b&#x41;">&lt;&gt;&amp;&quot;&apos;&#65;&#x1F600;&#xd;x</S></MS></Obj>',
    ) as PSObject;
    expect(v.extended.get('a&bA')).toBe('<>&"\'A\u{1F600}\rx');
    for (const bad of ['&#0;', '&#xD800;', '&#x110000;', '&nbsp;', '&#;', '&#x;', '&amp']) {
      expect(clixmlError(() => deserializeClixml(`<S>${bad}</S>`)).errorId).toBe('ClixmlMalformed');
    }
  });

  it.each([
    ['_x', '_x'.repeat(1_000_000)],
    ['_x0041', '_x0041'.repeat(500_000)],
    ['_x0041_', '_x0041_'.repeat(500_000)],
    ['_x0001F600_', '_x0001F600_'.repeat(300_000)],
  ])('decodeClixmlString(%s repeated) is linear', (_n, s) => {
    const out = timed(() => decodeClixmlString(s));
    expect(out.length).toBeLessThanOrEqual(s.length);
  });

  it('encodeClixmlString and escapeXml of a million hostile characters are linear', () => {
    const s = '_x\u0001<&"'.repeat(200_000);
    const enc = timed(() => escapeXml(encodeClixmlString(s)));
    expect(timed(() => deserializeClixml(`<S>${enc}</S>`))).toBe(s);
  });
});

describe('recursion on server counts: loops, not calls', () => {
  it('100,000 CDATA sections in one string', () => {
    const xml = `<S>a${'<![CDATA[<x>]]>&amp;'.repeat(100_000)}</S>`;
    expect(timed(() => deserializeClixml(xml))).toBe(`a${'<x>&'.repeat(100_000)}`);
    expect(
      clixmlError(() => deserializeClixml(`<S>${'<![CDATA[x]]>'.repeat(10_000)}<![CDATA[x</S>`)).errorId,
    ).toBe('ClixmlMalformed');
  });

  it('a million unknown attributes, a huge attribute value, a huge unknown element name', () => {
    expect(timed(() => deserializeClixml(`<S${' a="1"'.repeat(1_000_000)}>x</S>`))).toBe('x');
    const e = timed(() => clixmlError(() => deserializeClixml(`<${'Q'.repeat(1_000_000)}/>`)));
    expect(e.message.length).toBeLessThan(200);
    const big = timed(() => deserializeClixml(`<S RefId="${'9'.repeat(1_000_000)}">y</S>`));
    expect(big).toBe('y');
  });

  it('deeply nested property sets stop at the depth limit', () => {
    const xml = `<Obj RefId="0"><MS>${'<MS N="s">'.repeat(100_000)}`;
    expect(timed(() => clixmlError(() => deserializeClixml(xml))).errorId).toBe('DeserializationTooDeep');
  });
});

describe('references: cycles are finite, shared objects stay shared, DAGs are not expanded', () => {
  it('an object that is its own base value (PowerShell registers the RefId at the start, so this reads)', () => {
    const o = deserializeClixml('<Obj RefId="0"><Ref RefId="0" /></Obj>') as PSObject;
    expect(o.baseValue).toBe(o);
    expect(String(o)).toBe('System.Management.Automation.PSCustomObject');
    const typed = deserializeClixml('<Obj RefId="0"><TN RefId="0"><T>Foo</T></TN><Ref RefId="0" /></Obj>');
    expect(`${typed}`).toBe('Foo');
    // A ring of two.
    const ring = deserializeClixml(
      '<Obj RefId="0"><TN RefId="0"><T>A</T></TN><Obj RefId="1"><TN RefId="1"><T>B</T></TN><Ref RefId="0" /></Obj></Obj>',
    ) as PSObject;
    expect(String(ring)).toBe('A');
    expect(String(ring.baseValue)).toBe('B');
    // Written back: the cycle is a Ref, and it reads back the same.
    const xml = serializeClixml(o);
    expect(xml).toBe('<Obj RefId="0"><Ref RefId="0" /></Obj>');
    const again = deserializeClixml(xml) as PSObject;
    expect(again.baseValue).toBe(again);
  });

  it('a chain of 100,000 objects through Refs: toString and the serializer neither recurse nor overflow', () => {
    const items = ['<Obj RefId="0"><ToString>end</ToString></Obj>'];
    for (let k = 1; k < 100_000; k++) items.push(`<Obj RefId="${k}"><Ref RefId="${k - 1}" /></Obj>`);
    const list = timed(() =>
      deserializeClixml(`<Obj RefId="x"><LST>${items.join('')}</LST></Obj>`),
    ) as PSObject;
    const last = (list.baseValue as PSList).items[99_999] as PSObject;
    expect(timed(() => String(last))).toBe('end');
    // Written alone, the chain is cut where PowerShell's serializer cuts it (depth 50).
    const xml = timed(() => serializeClixml(last));
    expect(xml).toContain('<S>Serialized XML is nested too deeply.</S>');
    expect(timed(() => deserializeClixml(xml))).toBeInstanceOf(PSObject);
    // Written with the list, each object is written once (earlier ones as Refs): no depth reached.
    const all = timed(() => serializeClixml(list));
    expect(all).not.toContain('nested too deeply');
  });

  it('2 KB of doubly shared Refs (2^26 paths) deserialize, print and serialize in linear time', () => {
    let xml = '<Obj RefId="0"><LST><S>leaf</S></LST></Obj>';
    for (let k = 1; k <= 26; k++) xml = `<Obj RefId="${k}"><LST>${xml}<Ref RefId="${k - 1}" /></LST></Obj>`;
    // Nested as written, the innermost is 26 levels down: within the depth limit. Rebuild so each level holds
    // two Refs to the previous level instead (siblings, shallow): the DAG PowerShell would send.
    const levels = ['<Obj RefId="0"><LST><S>leaf</S></LST></Obj>'];
    for (let k = 1; k <= 26; k++)
      levels.push(`<Obj RefId="${k}"><LST><Ref RefId="${k - 1}" /><Ref RefId="${k - 1}" /></LST></Obj>`);
    const dag = `<Obj RefId="top"><LST>${levels.join('')}</LST></Obj>`;
    expect(dag.length).toBeLessThan(3000);
    const top = timed(() => deserializeClixml(dag)) as PSObject;
    const last = (top.baseValue as PSList).items[26] as PSObject;
    const [l, r] = (last.baseValue as PSList).items;
    expect(l).toBe(r); // shared, not copied
    expect(timed(() => serializeClixml(last)).length).toBeLessThan(5000);
    expect(timed(() => serializeClixml(top)).length).toBeLessThan(5000);
    expect(timed(() => decodeErrorRecord(last)).message).toBe('Unknown error');
    expect(timed(() => String(last))).toBe('System.Management.Automation.PSCustomObject');
    expect(timed(() => deserializeClixml(xml))).toBeInstanceOf(PSObject);
  });

  it('records decoded from objects with 100k properties or entries are linear', () => {
    const props = Array.from({ length: 100_000 }, (_, i) => `<I32 N="p${i}">${i}</I32>`).join('');
    const o = timed(() => deserializeClixml(`<Obj RefId="0"><MS>${props}</MS></Obj>`)) as PSObject;
    expect(timed(() => decodeErrorRecord(o)).message).toBe('Unknown error');
    expect(timed(() => decodeInformationRecord(o)).text).toBe('');
    const entries = Array.from(
      { length: 100_000 },
      (_, i) => `<En><S N="Key">k${i}</S><I32 N="Value">${i}</I32></En>`,
    ).join('');
    const d = timed(() => deserializeClixml(`<Obj RefId="0"><DCT>${entries}</DCT></Obj>`)) as PSObject;
    expect(timed(() => (d.baseValue as PSDictionary).get('K99999'))).toBe(99_999);
    expect((d.baseValue as PSDictionary).get('absent')).toBeUndefined();
  });

  it('an exception type name of a million characters', () => {
    const name = `Deserialized.${'Deserialized.'.repeat(100_000)}X`;
    const rec = timed(() =>
      decodeErrorRecord(
        deserializeClixml(
          `<Obj RefId="0"><MS><Obj N="Exception" RefId="1"><TN RefId="0"><T>${name}</T></TN></Obj></MS></Obj>`,
        ),
      ),
    );
    expect(rec.exceptionTypeName).toBe(name.slice('Deserialized.'.length));
  });

  it('thousands of objects sharing one TN of a thousand names serialize without re-joining it', () => {
    const tn = Array.from({ length: 1000 }, (_, i) => `<T>Type.Name.Number${i}</T>`).join('');
    const objs = ['<Obj RefId="1"><TN RefId="0">', tn, '</TN></Obj>'];
    for (let k = 2; k < 50_000; k++) objs.push(`<Obj RefId="${k}"><TNRef RefId="0" /></Obj>`);
    const list = timed(() =>
      deserializeClixml(`<Obj RefId="0"><LST>${objs.join('')}</LST></Obj>`),
    ) as PSObject;
    const items = (list.baseValue as PSList).items as PSObject[];
    expect(items[1]?.typeNames).toBe(items[2]?.typeNames);
    const xml = timed(() => serializeClixml(list));
    expect(xml.split('<TN ').length).toBe(2);
  });

  it('a huge BA, and values of every kind built with cycles, serialize finitely', () => {
    const b64 = Buffer.alloc(3 << 20, 7).toString('base64');
    const ba = timed(() => deserializeClixml(`<BA>${b64}</BA>`)) as PSPrimitive<'BA'>;
    expect(ba.value.length).toBe(3 << 20);
    const o = new PSObject({ typeNames: ['T'] });
    const list = new PSList('LST', [o]);
    const dict = new PSDictionary([[o, o]]);
    o.adapted.set('self', o);
    o.extended.set('list', new PSObject({ baseValue: list }));
    o.extended.set('dict', new PSObject({ baseValue: dict }));
    o.baseValue = o as PSValue;
    const xml = timed(() => serializeClixml(o));
    const back = deserializeClixml(xml) as PSObject;
    expect(back.adapted.get('self')).toBe(back);
    expect(back.baseValue).toBe(back);
  });
});
