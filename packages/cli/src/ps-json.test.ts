import { psValueText } from '@psremote/core';
import { PSDictionary, PSList, PSObject, PSPrimitive, type PSValue } from '@psremote/psrp';
import { describe, expect, it } from 'vitest';
import { randomGraph } from '../test/random-graph.ts';
import { encodeToken, type JsonValue, psValueToJson, psValueToJsonText } from './ps-json.ts';

/** A copy of an acyclic graph with every shared reference duplicated: the tree it stands for. */
function treeCopy(v: PSValue | PSList | PSDictionary | undefined): PSValue {
  if (v instanceof PSObject) {
    const c = new PSObject({ typeNames: [...v.typeNames] });
    if (v.toStringValue !== undefined) c.toStringValue = v.toStringValue;
    for (const [k, x] of v.adapted) c.adapted.set(k, treeCopy(x));
    for (const [k, x] of v.extended) c.extended.set(k, treeCopy(x));
    if (v.baseValue instanceof PSList)
      c.baseValue = new PSList(
        v.baseValue.kind,
        v.baseValue.items.map((x) => treeCopy(x)),
      );
    else if (v.baseValue instanceof PSDictionary)
      c.baseValue = new PSDictionary(v.baseValue.entries.map(([k, x]) => [k, treeCopy(x)]));
    else if (v.baseValue !== undefined) c.baseValue = treeCopy(v.baseValue);
    return c;
  }
  return v as PSValue;
}

/** Resolves an RFC 6901 pointer in URI fragment form against a document. */
function resolve(doc: JsonValue, ptr: string): JsonValue | undefined {
  expect(ptr.startsWith('#')).toBe(true);
  if (ptr === '#') return doc;
  let cur: JsonValue | undefined = doc;
  for (const raw of ptr.slice(2).split('/')) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(token)] : cur[token];
  }
  return cur;
}

/** Every `{"$ref"}` in a document with the pointer of where it stands. */
function refs(doc: JsonValue): Array<{ at: string; to: string }> {
  const found: Array<{ at: string; to: string }> = [];
  const walk = (v: JsonValue, at: string): void => {
    if (v === null || typeof v !== 'object') return;
    if (!Array.isArray(v) && typeof v.$ref === 'string' && Object.keys(v).length === 1) {
      found.push({ at, to: v.$ref });
      return;
    }
    for (const [k, x] of Object.entries(v)) walk(x, `${at}/${encodeToken(k)}`);
  };
  walk(doc, '#');
  return found;
}

function depthOf(v: JsonValue): number {
  if (v === null || typeof v !== 'object') return 0;
  let d = 0;
  for (const x of Object.values(v)) d = Math.max(d, depthOf(x));
  return d + 1;
}

// ---- properties ---------------------------------------------------------------------------------------------

describe('psValueToJson properties (seeded random graphs)', () => {
  it('shared-but-acyclic small graphs render exactly as their tree expansion', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const g = randomGraph(seed, { nodes: 30, share: 0.3, cycle: 0, maxChildren: 4 });
      expect(psValueToJsonText(g), `seed ${seed}`).toBe(psValueToJsonText(treeCopy(g)));
      expect(refs(psValueToJson(g)), `seed ${seed}`).toEqual([]);
    }
  });

  it('cyclic graphs give valid JSON whose $refs point to an enclosing ancestor', () => {
    let cycles = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const g = randomGraph(seed, { nodes: 40, share: 0.2, cycle: 0.15, maxChildren: 4 });
      const text = psValueToJsonText(g);
      const doc = JSON.parse(text) as JsonValue;
      for (const { at, to } of refs(doc)) {
        cycles++;
        // Small graphs stay within the budget: every reference is a cycle, to a proper ancestor of itself.
        expect(at === to || at.startsWith(`${to}/`), `seed ${seed}: ${at} -> ${to}`).toBe(true);
        const target = resolve(doc, to);
        expect(target !== null && typeof target === 'object', `seed ${seed}: ${to}`).toBe(true);
      }
    }
    expect(cycles).toBeGreaterThan(50);
  });

  it('large random graphs with heavy sharing and cycles stay within time and size', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const g = randomGraph(seed * 7919, { nodes: 1000, share: 0.6, cycle: 0.05, maxChildren: 8 });
      const t0 = performance.now();
      const text = psValueToJsonText(g);
      // Generous: the bound is about minutes versus seconds, on a loaded machine.
      expect(performance.now() - t0, `seed ${seed}`).toBeLessThan(10_000);
      expect(text.length, `seed ${seed}`).toBeLessThan(64 << 20);
      const doc = JSON.parse(text) as JsonValue;
      // 50 containers below the top one, plus the PSTypeNames array of the deepest object.
      expect(depthOf(doc)).toBeLessThanOrEqual(52);
      for (const { to } of refs(doc)) expect(resolve(doc, to), `seed ${seed}: ${to}`).toBeDefined();
    }
  }, 120_000);

  it('psValueText is finite on any graph, base-value cycles included', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const g = randomGraph(seed, { nodes: 50, share: 0.3, cycle: 0.2, maxChildren: 3 });
      const a = new PSObject();
      const b = new PSObject({ typeNames: ['B'] });
      a.baseValue = b;
      b.baseValue = a;
      if (g instanceof PSObject && g.baseValue === undefined) g.baseValue = a;
      expect(typeof psValueText(g)).toBe('string');
      expect(typeof psValueText(a)).toBe('string');
    }
  });
});

describe('psValueToJson bounds', () => {
  /** Each level holds two references to the level below: 2^levels leaves when expanded. */
  function bomb(levels: number): PSObject {
    let node = new PSObject({ extended: [['Leaf', 'x']] });
    for (let i = 0; i < levels; i++)
      node = new PSObject({
        extended: [
          ['A', node],
          ['B', node],
        ],
      });
    return node;
  }

  it('a 2^40 reference bomb is written within the work budget, repeats as pointers to their first expansion', () => {
    const t0 = performance.now();
    const text = psValueToJsonText(bomb(40));
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(text.length).toBeLessThan(16 << 20);
    const doc = JSON.parse(text) as JsonValue;
    const found = refs(doc);
    expect(found.length).toBeGreaterThan(0);
    for (const { at, to } of found) {
      // Budget references point to an expansion written earlier in the record, never to themselves.
      expect(to).not.toBe(at);
      const target = resolve(doc, to) as { [k: string]: JsonValue };
      expect(target && typeof target === 'object' && 'A' in target).toBe(true);
    }
  });

  it('a small DAG is expanded in full (faithful while affordable)', () => {
    const doc = psValueToJson(bomb(10)) as { [k: string]: JsonValue };
    expect(refs(doc)).toEqual([]);
    let n: JsonValue = doc;
    for (let i = 0; i < 10; i++) n = (n as { [k: string]: JsonValue }).B as JsonValue;
    expect(n).toEqual({ Leaf: 'x' });
  });

  it('one object with a big ToString referenced many times is not copied without bound', () => {
    const big = new PSObject({ typeNames: ['Big'], toStringValue: 'S'.repeat(1 << 20) });
    const list = new PSList(
      'LST',
      Array.from({ length: 5000 }, () => big),
    );
    const text = psValueToJsonText(new PSObject({ baseValue: list }));
    expect(text.length).toBeLessThan(64 << 20);
    const doc = JSON.parse(text) as JsonValue[];
    expect(doc[0]).toBe('S'.repeat(1 << 20));
    expect(doc[4999]).toEqual({ $ref: expect.stringMatching(/^#\/\d+$/) });
  });

  it('$ref pointers under long property names are charged by length; past the cap repeats are $truncated', () => {
    // The review's shape: one object 40 levels deep under long property names, then many references to it
    // (and a cycle inside it), so each $ref carries a 40 × 30,000-character pointer.
    const keyLength = 30_000;
    const target = new PSObject({
      typeNames: ['Target'],
      extended: Array.from({ length: 100 }, (_, i): [string, PSValue] => [`P${i}`, i]),
    });
    target.extended.set('Self', target);
    let chain: PSObject = target;
    for (let i = 0; i < 40; i++) chain = new PSObject({ extended: [[`${i}`.padEnd(keyLength, 'k'), chain]] });
    const items: PSValue[] = [chain, ...Array.from({ length: 100_000 }, () => target)];
    const distinctSize = psValueToJsonText(new PSObject({ baseValue: new PSList('LST', [chain]) })).length;
    expect(distinctSize).toBeGreaterThan(40 * keyLength);

    const t0 = performance.now();
    const text = psValueToJsonText(new PSObject({ baseValue: new PSList('LST', items) }));
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(text.length).toBeLessThan(64 * distinctSize);
    const doc = JSON.parse(text) as JsonValue[];
    expect(doc).toHaveLength(100_001);
    // Faithful while affordable: the first repeats are expanded, then $refs to the first expansion, then the
    // marker for the rest of the record.
    expect(doc[1]).toMatchObject({ PSTypeNames: ['Target'], P99: 99, Self: { $ref: '#/1' } });
    const firstRef = doc.findIndex((x) => x !== null && typeof x === 'object' && '$ref' in x);
    const firstCut = doc.findIndex((x) => x !== null && typeof x === 'object' && '$truncated' in x);
    expect(firstRef).toBeGreaterThan(1);
    expect(firstCut).toBeGreaterThan(firstRef);
    const to = (doc[firstRef] as { $ref: string }).$ref;
    expect(to.length).toBeGreaterThan(40 * keyLength);
    expect((resolve(doc, to) as { [k: string]: JsonValue }).P99).toBe(99);
    for (const x of doc.slice(firstCut)) expect(x).toEqual({ $truncated: true });
  }, 60_000);

  it('depth is bounded at 50 containers below the top: deeper values are their ToString text', () => {
    let node: PSObject = new PSObject({ typeNames: ['Bottom'], extended: [['Leaf', 1]] });
    for (let i = 0; i < 200; i++) node = new PSObject({ typeNames: [`L${i}`], extended: [['C', node]] });
    const doc = psValueToJson(node);
    expect(depthOf(doc)).toBe(52); // the top, 50 below it, the deepest one's PSTypeNames
    let cur: JsonValue = doc;
    for (let i = 0; i < 50; i++) cur = (cur as { [k: string]: JsonValue }).C as JsonValue;
    expect((cur as { [k: string]: JsonValue }).C).toBe('L148');
  });

  it('a 100,000-deep chain does not use the call stack', () => {
    let node: PSValue = 'bottom';
    for (let i = 0; i < 100_000; i++) node = new PSObject({ extended: [['C', node]] });
    expect(() => psValueToJsonText(node)).not.toThrow();
  });

  it('an object that is its own base value, a list inside itself, a dictionary holding itself', () => {
    const self = new PSObject();
    self.baseValue = self;
    expect(psValueToJson(self)).toBe('System.Management.Automation.PSCustomObject');
    const listObj = new PSObject({ typeNames: ['System.Collections.ArrayList'] });
    listObj.baseValue = new PSList('LST', [1, listObj]);
    expect(psValueToJson(listObj)).toEqual([1, { $ref: '#' }]);
    const d = new PSObject({ typeNames: ['System.Collections.Hashtable'] });
    d.baseValue = new PSDictionary([
      ['me', d],
      [self, 'key that is a cycle'],
    ]);
    expect(psValueToJson(d)).toEqual({
      me: { $ref: '#' },
      'System.Management.Automation.PSCustomObject': 'key that is a cycle',
    });
  });

  it('pointer tokens escape ~ and / (RFC 6901) and what a URI fragment cannot hold', () => {
    const o = new PSObject({ extended: [['a/b~c d%', null]] });
    o.extended.set('a/b~c d%', new PSObject({ extended: [['back', o]] }));
    const doc = psValueToJson(new PSObject({ extended: [['x y', o]] }));
    const [r] = refs(doc);
    expect(r?.to).toBe('#/x%20y');
    expect(encodeToken('a/b~c d%')).toBe('a~1b~0c%20d%25');
  });

  it('keeps the mapping of primitives', () => {
    const o = new PSObject({
      typeNames: ['X'],
      adapted: [
        ['big', new PSPrimitive('I64', 2n ** 60n)],
        ['small', new PSPrimitive('I64', 5n)],
        ['dec', new PSPrimitive('D', '1.10')],
        ['bytes', new PSPrimitive('BA', new Uint8Array([1, 2]))],
        ['nan', Number.NaN],
      ],
      extended: [['enum', new PSObject({ typeNames: ['E'], toStringValue: 'Red', baseValue: 12 })]],
    });
    expect(psValueToJson(o)).toEqual({
      PSTypeNames: ['X'],
      big: '1152921504606846976',
      small: 5,
      dec: '1.10',
      bytes: 'AQI=',
      nan: 'NaN',
      enum: 12,
    });
  });
});
