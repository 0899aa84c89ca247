import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { PtySession } from './pty/harness.ts';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const raw = inject('sshPeer');
interface Peer {
  port: number;
  key: string;
  knownHosts: string;
  password: string;
}
const peer = raw ? (JSON.parse(raw) as Peer) : undefined;

let s: PtySession | undefined;
afterEach(() => s?.kill());

describe.skipIf(!peer)('psremote enter -HostName over a real sshd, in a pseudo-terminal', () => {
  it('shows [pstest@127.0.0.1]: PS /home/pstest> and runs commands as pstest', async () => {
    const p = peer as Peer;
    s = new PtySession(
      process.execPath,
      [
        BIN,
        'enter',
        '-HostName',
        `pstest@127.0.0.1:${p.port}`,
        '-KeyFilePath',
        p.key,
        '-Options',
        `@{UserKnownHostsFile='${p.knownHosts}'}`,
      ],
      { env: { NO_COLOR: '1', USER: 'root' } },
    );
    await s.waitFor(/\[pstest@127\.0\.0\.1\]: PS \/home\/pstest> $/m, 40_000);
    s.type('whoami\r');
    await s.waitFor(/^pstest$/m);
    s.type('exit\r');
    expect((await s.exited).exitCode).toBe(0);
  });

  it('an unknown host key is asked about in the terminal, then a masked password; the key is recorded', async () => {
    const p = peer as Peer;
    const home = mkdtempSync(join(tmpdir(), 'psremote-cli-ssh-'));
    const knownHosts = join(home, 'known_hosts');
    writeFileSync(knownHosts, '');
    try {
      s = new PtySession(
        process.execPath,
        [
          BIN,
          'enter',
          '-HostName',
          '127.0.0.1',
          '-UserName',
          'pstest',
          '-Port',
          String(p.port),
          '-Options',
          `@{UserKnownHostsFile='${knownHosts}'}`,
        ],
        { env: { NO_COLOR: '1', USER: 'root', HOME: home } },
      );
      const ask = await s.waitFor(/\[Y\] Yes {2}\[N\] No {2}\[\?\] Help \(default is "N"\): $/m, 40_000);
      expect(ask).toContain(`The authenticity of host '[127.0.0.1]:${p.port}' cannot be established.`);
      expect(ask).toMatch(/ED25519 key fingerprint is SHA256:\S+\./);
      s.type('y\r');
      await s.waitFor(/pstest@127\.0\.0\.1's password: $/m);
      s.type(`${p.password}\r`);
      const screen = await s.waitFor(/\[pstest@127\.0\.0\.1\]: PS \/home\/pstest> $/m, 40_000);
      expect(screen).toContain(`password: ${'*'.repeat(p.password.length)}`);
      expect(screen).not.toContain(p.password);
      expect(readFileSync(knownHosts, 'utf8')).toContain('ssh-ed25519 ');
      s.type('exit\r');
      expect((await s.exited).exitCode).toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
