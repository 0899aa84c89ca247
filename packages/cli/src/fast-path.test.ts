import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { usesHeldSession } from './fast-path.ts';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

describe('usesHeldSession (which build bin.js runs)', () => {
  it('takes the commands on a session the agent holds', () => {
    expect(usesHeldSession(['enter', '-Name', 'web'])).toBe(true);
    expect(usesHeldSession(['enter', '-id', '7'])).toBe(true);
    expect(
      usesHeldSession(['invoke', '-InstanceId:7c1f3f6e-0000-0000-0000-000000000000', '-Command', '1']),
    ).toBe(true);
    expect(usesHeldSession(['get'])).toBe(true);
    expect(usesHeldSession(['remove', '-Name', 'web'])).toBe(true);
  });

  it('leaves the rest to the modules (fresh sessions, new, the agent itself)', () => {
    expect(usesHeldSession([])).toBe(false);
    expect(usesHeldSession(['__agent'])).toBe(false);
    expect(usesHeldSession(['new', '-Name', 'web', '-HostName', 'h'])).toBe(false);
    expect(usesHeldSession(['enter', '-HostName', 'h'])).toBe(false);
    expect(usesHeldSession(['enter', '-ComputerName', 'Id'])).toBe(false);
    expect(usesHeldSession(['invoke', '-HostName', 'h', '-Command', '-Identity'])).toBe(false);
  });
});

describe('dist/run.bundle.js (pnpm build)', () => {
  it('is the same CLI: it answers as the modules do', () => {
    expect(existsSync(`${DIST}run.bundle.js`)).toBe(true);
    // No session held anywhere: the same refusal from both builds.
    const run = (entry: string) => {
      try {
        execFileSync(
          process.execPath,
          ['-e', `import(${JSON.stringify(entry)}).then((m) => m.run(['remove']))`],
          {
            encoding: 'utf8',
            stdio: 'pipe',
            env: { ...process.env, NO_COLOR: '1' },
          },
        );
        return 'exit 0';
      } catch (e) {
        const err = e as { status: number; stderr: string };
        return `exit ${err.status}: ${err.stderr}`;
      }
    };
    const fromBundle = run(`${DIST}run.bundle.js`);
    expect(fromBundle).toMatch(/MissingMandatoryParameter/);
    expect(fromBundle).toBe(run(`${DIST}run.js`));
    // The bundle carries core and psrp: it imports neither package.
    expect(readFileSync(`${DIST}run.bundle.js`, 'utf8')).not.toMatch(/from "@psremote\//);
  });
});

describe('invoke on a session the agent does not hold (no agent running)', () => {
  it('fails in Get-PSSession, as `Invoke-Command -Session (Get-PSSession -Id 7)` does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psremote-fast-path-'));
    try {
      const r = spawnSync(process.execPath, [`${DIST}bin.js`, 'invoke', '-Id', '7', '-Command', '1'], {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', PSREMOTE_AGENT_DIR: dir },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /^Get-PSSession: The remote session with the session ID 7 is not available\.$/m,
      );
      expect(r.stderr).toMatch(
        /FullyQualifiedErrorId : RemoteRunspaceNotAvailableForSpecifiedSessionId,Microsoft\.PowerShell\.Commands\.GetPSSessionCommand/,
      );
      const enter = spawnSync(process.execPath, [`${DIST}bin.js`, 'enter', '-Id', '7'], {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', PSREMOTE_AGENT_DIR: dir },
      });
      expect(enter.stderr).toMatch(
        /^Enter-PSSession: The remote session with the session ID 7 is not available\.$/m,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
