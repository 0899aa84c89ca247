import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isPSRemotingError } from '../../src/errors/ps-remoting-error.ts';
import { parseArguments } from '../../src/parameters/arguments.ts';
import { bindEnterPSSession } from '../../src/parameters/bind.ts';

interface Case {
  args: string[];
  parameterSet?: string;
  bound?: Record<string, unknown>;
  errorId?: string;
  message?: string;
  /** Whether a script proxy of Enter-PSSession bound it the same way (for the record; not compared). */
  proxyAgrees?: boolean;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/binder-conformance.json', import.meta.url), 'utf8'),
) as {
  generatedBy: string;
  cases: Case[];
};

/** The oracle joined the words into one pwsh command line; split them the same way pwsh's tokenizer did. */
function words(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    let depth = 0;
    let quote = '';
    let cur = '';
    for (const c of a) {
      if (quote) {
        cur += c;
        if (c === quote) quote = '';
        continue;
      }
      if (c === "'" || c === '"') quote = c;
      if (c === '{' || c === '(') depth++;
      if (c === '}' || c === ')') depth--;
      if (c === ' ' && depth === 0) {
        if (cur) out.push(cur);
        cur = '';
        continue;
      }
      cur += c;
    }
    if (cur) out.push(cur);
  }
  return out;
}

async function ours(c: Case): Promise<Case> {
  try {
    const r = await bindEnterPSSession(parseArguments(words(c.args)), { interactive: false });
    return { args: c.args, parameterSet: r.parameterSet, bound: r.bound as Record<string, unknown> };
  } catch (e) {
    if (!isPSRemotingError(e)) throw e;
    return { args: c.args, errorId: e.errorId, message: e.message };
  }
}

describe(`binder conformance with real PowerShell (${fixture.generatedBy}, ${fixture.cases.length} cases)`, () => {
  it('has at least 300 generated cases', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(300);
  });
  it.each(fixture.cases.map((c) => [c.args.join(' ') || '(no arguments)', c] as const))(
    '%s',
    async (_name, c) => {
      const r = await ours(c);
      if (c.errorId) {
        expect({ errorId: r.errorId, message: r.message }).toEqual({
          errorId: c.errorId,
          message: c.message,
        });
      } else {
        // The oracle can only show a bound PSSessionOption as its type name; ours is its property table.
        const expected = { ...c.bound };
        if (expected.SessionOption === 'System.Management.Automation.Remoting.PSSessionOption')
          expected.SessionOption = expect.any(Object);
        expect({ parameterSet: r.parameterSet, bound: r.bound }).toEqual({
          parameterSet: c.parameterSet,
          bound: expected,
        });
      }
    },
  );
});
