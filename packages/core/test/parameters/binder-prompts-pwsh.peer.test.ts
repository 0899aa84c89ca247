// The prompt for a missing mandatory parameter, compared with real pwsh: pwsh's console host reads the answer
// from a redirected stdin, prints the prompt (caption, message, "Name: ") and then binds the answer. Only answers
// that fail binding are used, so pwsh never tries to connect anywhere.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPSRemotingError } from '../../src/errors/ps-remoting-error.ts';
import type { FieldDescription } from '../../src/host/host-ui.ts';
import { RecordingHostUi } from '../../src/host/recording-host-ui.ts';
import { parseArguments } from '../../src/parameters/arguments.ts';
import { bindEnterPSSession } from '../../src/parameters/bind.ts';

function findPwsh(): string | undefined {
  const candidates = [
    process.env.PSREMOTE_PWSH,
    join(process.env.HOME ?? '', '.dotnet', 'tools', 'pwsh'),
    ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'pwsh')),
  ];
  return candidates.find((c): c is string => c !== undefined && c !== '' && existsSync(c));
}

const pwsh = findPwsh();
const requirePeers = process.env.PSREMOTE_REQUIRE_PEERS === '1';
if (!pwsh && !requirePeers)
  console.warn('binder-prompts-pwsh: skipped, pwsh is not installed (PATH, ~/.dotnet/tools)');

/** A HostUi that also keeps the fields of each Prompt call. */
class FieldRecordingHostUi extends RecordingHostUi {
  readonly fields: string[][] = [];
  override async prompt(caption: string, message: string, fields: readonly FieldDescription[]) {
    this.fields.push(fields.map((f) => f.name));
    return super.prompt(caption, message, fields);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'psremote-prompt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface PwshAnswer {
  promptLines: string[];
  errorId: string;
  category: string;
  message: string;
}

function realPwsh(words: readonly string[], answer: string): PwshAnswer {
  const script = join(dir, 'case.ps1');
  writeFileSync(
    script,
    `try { Enter-PSSession ${words.join(' ')} } catch { "ERR|" + ($_.FullyQualifiedErrorId -split ',')[0] + '|' + $_.CategoryInfo.Category + '|' + $_.Exception.Message }\n`,
  );
  const out = execFileSync(pwsh as string, ['-NoProfile', '-File', script], {
    input: `${answer}\n`,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const lines = out.split(/\r?\n/).filter((l) => l.trim() !== '');
  const err = lines.find((l) => l.startsWith('ERR|')) ?? '';
  const [, errorId = '', category = '', ...message] = err.split('|');
  return {
    promptLines: lines.filter((l) => !l.startsWith('ERR|')),
    errorId,
    category,
    message: message.join('|'),
  };
}

const cases: Array<{ words: string[]; field: string; answer: string }> = [
  { words: ['-UserName', 'me'], field: 'HostName', answer: '' },
  { words: ['-UseSSL'], field: 'ComputerName', answer: '' },
  { words: ['-Subsystem', 's'], field: 'HostName', answer: '' },
  { words: ['-ConfigurationName', 'c', '-RunAsAdministrator'], field: 'ContainerId', answer: '' },
  { words: ['-KeyFilePath', 'k', '-Port', '22'], field: 'HostName', answer: '' },
];

describe.skipIf(!pwsh && !requirePeers)('missing mandatory parameter prompts, against real pwsh', () => {
  it('finds pwsh', () => {
    expect(pwsh, 'pwsh is required (PSREMOTE_REQUIRE_PEERS=1)').toBeDefined();
  });
  it.each(cases)('$words.0 … prompts for $field', async ({ words, field, answer }) => {
    const real = realPwsh(words, answer);
    const ui = new FieldRecordingHostUi({ answers: [{ [field]: answer }] });
    const e = await bindEnterPSSession(parseArguments(words), { interactive: true, hostUi: ui }).catch(
      (x: unknown) => x,
    );
    // pwsh prints the caption, the message, then one "Name: " line per field.
    expect(real.promptLines.map((l) => l.trim())).toEqual([
      'cmdlet Enter-PSSession at command pipeline position 1',
      'Supply values for the following parameters:',
      `${field}:`,
    ]);
    expect(ui.records[0]).toMatchObject({
      kind: 'ask',
      member: 'Prompt',
      caption: real.promptLines[0]?.trim(),
      message: real.promptLines[1]?.trim(),
    });
    expect(ui.fields).toEqual([[field]]);
    expect(isPSRemotingError(e)).toBe(true);
    if (!isPSRemotingError(e)) return;
    expect({ errorId: e.errorId, category: e.category, message: e.message }).toEqual({
      errorId: real.errorId,
      category: real.category,
      message: real.message,
    });
  });
});
