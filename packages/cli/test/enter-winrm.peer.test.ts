import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  endpointSkipReason,
  type StartedEndpoint,
  startWsmanEndpoint,
} from '../../transport-winrm/test/peer/endpoint.ts';
import { PtySession } from './pty/harness.ts';

/**
 * `psremote enter -ComputerName` as a user types it, in a pseudo-terminal, against the WS-Management test endpoint
 * of transport-winrm (NTLM and message sealing by gss-ntlmssp, each shell a real `pwsh -s`).
 */
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const skip = endpointSkipReason();
const PASSWORD = 'Passw0rd!';

let s: PtySession | undefined;
afterEach(() => s?.kill());

describe.skipIf(skip)('psremote enter -ComputerName over WinRM (NTLM, sealed), in a pseudo-terminal', () => {
  let endpoint: StartedEndpoint;
  beforeAll(async () => {
    endpoint = await startWsmanEndpoint();
  }, 60_000);
  afterAll(async () => {
    await endpoint?.stop();
  });

  it('asks for the password (masked), shows [127.0.0.1]: PS ...>, runs commands, Ctrl+C stops one, exit leaves', async () => {
    s = new PtySession(
      process.execPath,
      [
        BIN,
        'enter',
        '-ComputerName',
        '127.0.0.1',
        '-Port',
        String(endpoint.port),
        '-Credential',
        'PSREMOTE\\psuser',
      ],
      { env: { NO_COLOR: '1' } },
    );
    await s.waitFor(/Password for user PSREMOTE\\psuser: $/m, 30_000);
    s.type(`${PASSWORD}\r`);
    const screen = await s.waitFor(/\[127\.0\.0\.1\]: PS [^\n]*> $/m, 60_000);
    expect(screen).not.toContain(PASSWORD);
    expect(screen).toContain(`psuser: ${'*'.repeat(PASSWORD.length)}`);
    s.type('$PSVersionTable.PSVersion.Major * 10 + 1\r');
    await s.waitFor(/^71$/m, 30_000);
    s.type('Start-Sleep 60\r');
    await new Promise((r) => setTimeout(r, 1500));
    s.type('\x03');
    await s.waitFor(/\[127\.0\.0\.1\]: PS [^\n]*> $/m, 15_000);
    s.type('"after:" + (1+2)\r');
    await s.waitFor(/^after:3$/m, 20_000);
    s.type('exit\r');
    expect((await s.exited).exitCode).toBe(0);
  }, 150_000);

  it('a wrong password: PowerShell\'s "Access is denied." error view, exit 1', async () => {
    s = new PtySession(
      process.execPath,
      [
        BIN,
        'enter',
        '-ComputerName',
        '127.0.0.1',
        '-Port',
        String(endpoint.port),
        '-Credential',
        'PSREMOTE\\psuser',
      ],
      { env: { NO_COLOR: '1' } },
    );
    await s.waitFor(/Password for user PSREMOTE\\psuser: $/m, 30_000);
    s.type('not-the-password\r');
    const screen = await s.waitFor(/FullyQualifiedErrorId : \S+/m, 60_000);
    expect(screen).toContain('Connecting to remote server 127.0.0.1 failed with the following error message');
    expect(screen).toContain('Access is denied.');
    expect(screen).not.toContain('not-the-password');
    expect((await s.exited).exitCode).toBe(1);
  }, 120_000);

  it('psremote invoke with --password-stdin: the password from a pipe, output as JSON lines, never echoed', () => {
    const args = [
      'invoke',
      '-ComputerName',
      '127.0.0.1',
      '-Port',
      String(endpoint.port),
      '-Credential',
      'PSREMOTE\\psuser',
    ];
    const r = spawnSync(process.execPath, [BIN, ...args, '-Command', '1..3', '--json', '--password-stdin'], {
      encoding: 'utf8',
      input: `${PASSWORD}\r\nignored second line\n`,
      timeout: 90_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([1, 2, 3]);
    const dry = spawnSync(
      process.execPath,
      [BIN, ...args, '-Command', '1', '--dry-run', '--password-stdin'],
      {
        encoding: 'utf8',
        input: `${PASSWORD}\n`,
      },
    );
    expect(JSON.parse(dry.stdout).bound.Credential).toEqual({ userName: 'PSREMOTE\\psuser' });
    expect(dry.stdout).not.toContain(PASSWORD);
    const noCredential = spawnSync(
      process.execPath,
      [BIN, 'invoke', '-ComputerName', '127.0.0.1', '-Command', '1', '--password-stdin'],
      { encoding: 'utf8', input: 'x\n' },
    );
    expect(noCredential.status).toBe(2);
    expect(noCredential.stderr).toContain('FullyQualifiedErrorId : PasswordStdinNeedsCredential');
  }, 120_000);
});
