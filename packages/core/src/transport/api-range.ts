/**
 * The small part of semver range matching a transport's `apiRange` needs: `*`, `x.y.z`, `^x.y.z`,
 * `~x.y.z`, `>=x.y.z`, and `||` between alternatives. No pre-release handling (the API has none).
 */
export function satisfiesApiRange(version: string, range: string): boolean {
  const v = parse(version);
  if (!v) return false;
  return range.split('||').some((alt) =>
    alt
      .trim()
      .split(/\s+/)
      .every((part) => matchOne(v, part)),
  );
}

type Triple = [number, number, number];

function parse(text: string): Triple | undefined {
  const m = /^v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(text.trim());
  if (!m) return undefined;
  const n = (s: string | undefined) => (s === undefined || s === 'x' || s === '*' ? 0 : Number(s));
  return [n(m[1]), n(m[2]), n(m[3])];
}

function cmp(a: Triple, b: Triple): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

function matchOne(v: Triple, part: string): boolean {
  if (part === '*' || part === '' || part === 'x') return true;
  const m = /^(\^|~|>=|<=|>|<|=)?(.*)$/.exec(part);
  const op = m?.[1] ?? '=';
  const r = parse(m?.[2] ?? '');
  if (!r) return false;
  switch (op) {
    case '^':
      // ^1.2.3 := >=1.2.3 <2.0.0; ^0.2.3 := >=0.2.3 <0.3.0
      if (cmp(v, r) < 0) return false;
      return r[0] > 0
        ? v[0] === r[0]
        : r[1] > 0
          ? v[0] === 0 && v[1] === r[1]
          : v[0] === 0 && v[1] === 0 && v[2] === r[2];
    case '~':
      return cmp(v, r) >= 0 && v[0] === r[0] && v[1] === r[1];
    case '>=':
      return cmp(v, r) >= 0;
    case '>':
      return cmp(v, r) > 0;
    case '<=':
      return cmp(v, r) <= 0;
    case '<':
      return cmp(v, r) < 0;
    default:
      return cmp(v, r) === 0;
  }
}
