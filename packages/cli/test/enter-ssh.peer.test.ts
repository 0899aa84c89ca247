import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PtySession } from './pty/harness.ts';
import {
  acceptHostKeyAndPassword,
  keyLogonArgs,
  passwordLogonArgs,
  type SshTestPeer,
  sshTestPeer,
  withEmptyKnownHosts,
} from './ssh-peer.ts';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const peer = sshTestPeer();

let s: PtySession | undefined;
afterEach(() => s?.kill());

describe.skipIf(!peer)('psremote enter -HostName over a real sshd, in a pseudo-terminal', () => {
  it('shows [pstest@127.0.0.1]: PS /home/pstest> and runs commands as pstest', async () => {
    const p = peer as SshTestPeer;
    s = new PtySession(process.execPath, [BIN, 'enter', ...keyLogonArgs(p)], {
      env: { NO_COLOR: '1', USER: 'root' },
    });
    await s.waitFor(/\[pstest@127\.0\.0\.1\]: PS \/home\/pstest> $/m, 40_000);
    s.type('whoami\r');
    await s.waitFor(/^pstest$/m);
    s.type('exit\r');
    expect((await s.exited).exitCode).toBe(0);
  });

  it('an unknown host key is asked about in the terminal, then a masked password; the key is recorded', async () => {
    const p = peer as SshTestPeer;
    await withEmptyKnownHosts('psremote-cli-ssh-', async (home, knownHosts) => {
      s = new PtySession(process.execPath, [BIN, 'enter', ...passwordLogonArgs(p, knownHosts)], {
        env: { NO_COLOR: '1', USER: 'root', HOME: home },
      });
      const ask = await acceptHostKeyAndPassword(s, p.password);
      expect(ask).toContain(`The authenticity of host '[127.0.0.1]:${p.port}' cannot be established.`);
      expect(ask).toMatch(/ED25519 key fingerprint is SHA256:\S+\./);
      const screen = await s.waitFor(/\[pstest@127\.0\.0\.1\]: PS \/home\/pstest> $/m, 40_000);
      expect(screen).toContain(`password: ${'*'.repeat(p.password.length)}`);
      expect(screen).not.toContain(p.password);
      expect(readFileSync(knownHosts, 'utf8')).toContain('ssh-ed25519 ');
      s.type('exit\r');
      expect((await s.exited).exitCode).toBe(0);
    });
  });
});
