import { seededRandom } from '@psremote/core/testing';
import { PSDictionary, PSList, PSObject, PSPrimitive, type PSValue } from '@psremote/psrp';

// Seeded random PSValue graphs for the property tests of what consumes server values (ps-json, text, errors).

/** The seeded PRNG of @psremote/core/testing, so a failing case can be replayed from its seed. */
export const rng = seededRandom;

export interface GraphOptions {
  readonly nodes: number;
  /** Chance that a child is an earlier node (sharing). */
  readonly share: number;
  /** Chance that a child is an ancestor (a cycle). */
  readonly cycle: number;
  readonly maxChildren: number;
}

/** A random graph of objects, lists and dictionaries with primitives at the leaves. */
export function randomGraph(seed: number, o: GraphOptions): PSValue {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const made: PSObject[] = [];
  const leaf = (): PSValue =>
    pick<() => PSValue>([
      () => null,
      () => Math.floor(r() * 1000),
      () => r() < 0.5,
      () => `s${Math.floor(r() * 100)}~/"\u00e9`,
      () => new PSPrimitive('I64', BigInt(Math.floor(r() * 2 ** 60))),
      () => new PSPrimitive('D', '1.50'),
      () => new PSPrimitive('Db', Number.NaN),
      () => new PSObject({ typeNames: ['System.ConsoleColor'], toStringValue: 'Red', baseValue: 12 }),
    ])();
  const build = (ancestors: PSObject[], budget: { n: number }): PSValue => {
    if (budget.n <= 0 || r() < 0.2) return leaf();
    if (ancestors.length > 0 && r() < o.cycle) return pick(ancestors);
    if (made.length > 0 && r() < o.share) {
      // An earlier, finished object: sharing without a cycle.
      const done = made.filter((m) => !ancestors.includes(m));
      if (done.length > 0) return pick(done);
    }
    budget.n--;
    const kind = Math.floor(r() * 3);
    const obj = new PSObject({ typeNames: [`T${made.length}`, 'System.Object'] });
    made.push(obj);
    const inner = [...ancestors, obj];
    const count = Math.floor(r() * (o.maxChildren + 1));
    if (kind === 0) {
      for (let i = 0; i < count; i++) obj.extended.set(`p${i}/~x`, build(inner, budget));
      if (count === 0) obj.extended.set('empty', null);
    } else if (kind === 1) {
      obj.baseValue = new PSList(
        'LST',
        Array.from({ length: count }, () => build(inner, budget)),
      );
    } else {
      obj.baseValue = new PSDictionary(
        Array.from({ length: count }, (_, i) => [`k${i}`, build(inner, budget)]),
      );
    }
    return obj;
  };
  return build([], { n: o.nodes });
}
