import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CATEGORIES } from './error-category.ts';
import { ERROR_IDS, type ErrorIdInfo, isKnownErrorId } from './error-ids.ts';

const PACKAGES = fileURLToPath(new URL('../../../', import.meta.url));

/** Every non-test TypeScript source under packages/<name>/src. */
function sources(): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
        out.push({ file: p, text: readFileSync(p, 'utf8') });
    }
  };
  for (const pkg of readdirSync(PACKAGES, { withFileTypes: true }))
    if (pkg.isDirectory()) {
      const src = join(PACKAGES, pkg.name, 'src');
      try {
        walk(src);
      } catch {
        // A package without src.
      }
    }
  return out;
}

interface Use {
  readonly id: string;
  readonly category?: string;
  readonly where: string;
}

/**
 * The ids a source raises by literal: each quoted id in the expression after `errorId:` (with the `category:`
 * literal that follows it), the first
 * argument of the id-taking helpers (the binder's bindError, the CLI's refuse, sshError, authError), the members of
 * an `...ErrorId` union type, and `abruptEndErrorId: '...'`.
 */
function uses(file: string, text: string): Use[] {
  const found: Use[] = [];
  const where = file.slice(PACKAGES.length);
  // The expression after `errorId:` up to its comma (a template literal may hold one), then the category.
  for (const m of text.matchAll(/\berrorId:\s*((?:[^,\n`]|`[^`]*`)*),(?:\s*category:\s*'([^']+)')?/g))
    for (const q of (m[1] as string).matchAll(/'([^']+)'/g))
      found.push({ id: q[1] as string, ...(m[2] ? { category: m[2] } : {}), where });
  const helper = where.startsWith('cli/')
    ? 'refuse'
    : where.startsWith('transport-ssh/')
      ? 'sshError'
      : where.startsWith('transport-winrm/')
        ? 'authError'
        : 'bindError';
  for (const m of text.matchAll(new RegExp(`\\b${helper}\\(\\s*'([^']+)'`, 'g')))
    found.push({ id: m[1] as string, where });
  for (const m of text.matchAll(/\btype \w*ErrorId =([^;]+);/g))
    for (const q of (m[1] as string).matchAll(/'([^']+)'/g)) found.push({ id: q[1] as string, where });
  for (const m of text.matchAll(/\babruptEndErrorId:\s*'([^']+)'/g))
    found.push({ id: m[1] as string, where });
  return found;
}

describe('the error id catalogue', () => {
  const all = sources().flatMap(({ file, text }) => uses(file, text));

  it('finds the ids of every package that raises some (the scan itself works)', () => {
    const packages = new Set(all.map((u) => u.where.split('/')[0]));
    for (const p of [
      'core',
      'cli',
      'transport-process',
      'transport-ssh',
      'transport-container',
      'transport-winrm',
      'transport-hyperv',
    ])
      expect(packages).toContain(p);
    expect(all.length).toBeGreaterThan(100);
  });

  it('every errorId raised by literal under packages/*/src is in the catalogue', () => {
    const unknown = all.filter((u) => !isKnownErrorId(u.id)).map((u) => `${u.id} (${u.where})`);
    expect(unknown).toEqual([]);
  });

  it("each literal's category is one the catalogue lists for its id", () => {
    const wrong = all
      .filter((u) => u.category !== undefined && isKnownErrorId(u.id))
      .filter(
        (u) =>
          !(ERROR_IDS[u.id as keyof typeof ERROR_IDS] as ErrorIdInfo).categories.includes(
            u.category as never,
          ),
      )
      .map((u) => `${u.id} as ${u.category} (${u.where})`);
    expect(wrong).toEqual([]);
  });

  it('categories are PowerShell ErrorCategory names and origins are powershell or psremote', () => {
    for (const info of Object.values(ERROR_IDS) as ErrorIdInfo[]) {
      for (const c of info.categories) expect(ERROR_CATEGORIES).toContain(c);
      expect(['powershell', 'psremote']).toContain(info.origin);
    }
    expect(isKnownErrorId('AmbiguousParameterSet')).toBe(true);
    expect(isKnownErrorId('AmbiguousParameterSetTypo')).toBe(false);
    expect(isKnownErrorId('toString')).toBe(false);
  });
});
