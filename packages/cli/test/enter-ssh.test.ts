import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { PtySession } from './pty/harness.ts';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const raw = inject('sshPeer');
const peer = raw ? (JSON.parse(raw) as { port: number; key: string; knownHosts: string }) : undefined;

let s: PtySession | undefined;
afterEach(() => s?.kill());

describe.skipIf(!peer)('psremote enter -HostName over a real sshd, in a pseudo-terminal', () => {
  it('shows [pstest@127.0.0.1]: PS /home/pstest> and runs commands as pstest', async () => {
    const p = peer as { port: number; key: string; knownHosts: string };
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
});
