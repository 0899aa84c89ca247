import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { PtySession } from './pty/harness.ts';

/**
 * The private sshd global-setup.ts starts for the CLI's SSH tests, and the pieces of an SSH logon those tests
 * type: the parameters for a key logon to a known host, those for a password logon, a HOME whose known_hosts is
 * empty (so the host key is asked about), and the answers to the host-key question and the password prompt.
 */
export interface SshTestPeer {
  readonly port: number;
  /** The ed25519 private key of `pstest`. */
  readonly key: string;
  /** A known_hosts file that holds the sshd's host keys. */
  readonly knownHosts: string;
  readonly password: string;
}

/** The sshd global-setup.ts started, or undefined when it could not (it already failed under REQUIRE_PEERS). */
export function sshTestPeer(): SshTestPeer | undefined {
  const raw = inject('sshPeer');
  return raw ? (JSON.parse(raw) as SshTestPeer) : undefined;
}

/** `pstest@127.0.0.1:<port>` with its key, the host already known: a logon that asks nothing. */
export function keyLogonArgs(peer: SshTestPeer): string[] {
  return [
    '-HostName',
    `pstest@127.0.0.1:${peer.port}`,
    '-KeyFilePath',
    peer.key,
    '-Options',
    `@{UserKnownHostsFile='${peer.knownHosts}'}`,
  ];
}

/** `pstest` on 127.0.0.1:<port> with no key: the password is asked; the host key too when `knownHosts` lacks it. */
export function passwordLogonArgs(peer: SshTestPeer, knownHosts: string): string[] {
  return [
    '-HostName',
    '127.0.0.1',
    '-UserName',
    'pstest',
    '-Port',
    String(peer.port),
    '-Options',
    `@{UserKnownHostsFile='${knownHosts}'}`,
  ];
}

/** Runs `fn` with a HOME of its own holding an empty known_hosts; removes it afterwards. */
export async function withEmptyKnownHosts<T>(
  prefix: string,
  fn: (home: string, knownHosts: string) => Promise<T>,
): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const knownHosts = join(home, 'known_hosts');
  writeFileSync(knownHosts, '');
  try {
    return await fn(home, knownHosts);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** PowerShell's choice line under the unknown-host-key question (`[Y] Yes  [N] No  [?] Help (default is "N"): `). */
export const HOST_KEY_CHOICE = /\[Y\] Yes {2}\[N\] No {2}\[\?\] Help \(default is "N"\): $/m;

/**
 * In the terminal: waits for the host-key question and answers Yes, then for `pstest`'s password prompt and types
 * the password. Returns the screen as it stood at the question.
 */
export async function acceptHostKeyAndPassword(pty: PtySession, password: string): Promise<string> {
  const ask = await pty.waitFor(HOST_KEY_CHOICE, 40_000);
  pty.type('y\r');
  await pty.waitFor(/pstest@127\.0\.0\.1's password: $/m);
  pty.type(`${password}\r`);
  return ask;
}
