import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';

/**
 * The independent peer for the auth tests: gss_acceptor.py (MIT GSSAPI + gss-ntlmssp via python3-gssapi), driven
 * over JSON lines. Debian packages: gss-ntlmssp python3-gssapi (scripts/setup.sh --peers installs them).
 */
export const PYTHON = '/usr/bin/python3';
export const SCRIPT = join(import.meta.dirname, 'gss_acceptor.py');
/**
 * `DOMAIN\User` and `User`, and a UPN: a UPN logon sends the whole `user@domain` as the user name with an empty
 * domain (NTOWFv2 over both as sent), so gss-ntlmssp needs an entry with an empty domain for it.
 */
export const USERS = 'DOMAIN:User:Password\n:User@domain.test:Password\n';

/** Why the acceptor cannot run here, or undefined when it can. Installs nothing. */
export function acceptorMissing(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import gssapi'], { stdio: 'pipe' });
  } catch {
    return `${PYTHON} cannot import gssapi (apt-get install python3-gssapi)`;
  }
  try {
    const probe =
      'import sys, gssapi.raw; m = [x.dotted_form for x in gssapi.raw.indicate_mechs()]; ' +
      'sys.exit(0 if "1.3.6.1.4.1.311.2.2.10" in m else 1)';
    execFileSync(PYTHON, ['-c', probe], { stdio: 'pipe' });
  } catch {
    return 'the gss-ntlmssp GSSAPI mechanism is not installed (apt-get install gss-ntlmssp)';
  }
  return undefined;
}

export type AcceptorAnswer = Record<string, unknown> & { error?: string };

export class Acceptor {
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  readonly #rl: Interface;
  readonly #dir: string;

  /** `users`: the NTLM_USER_FILE content, `DOMAIN:User:Password` lines. */
  constructor(users: string = USERS) {
    this.#dir = mkdtempSync(join(tmpdir(), 'psremote-ntlm-'));
    const usersFile = join(this.#dir, 'users');
    writeFileSync(usersFile, users);
    this.#proc = spawn(PYTHON, [SCRIPT], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NTLM_USER_FILE: usersFile },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#rl = createInterface({ input: this.#proc.stdout });
    this.#lines = this.#rl[Symbol.asyncIterator]();
  }

  /** One request, one answer (each within 10 s: a hung acceptor fails the test instead of stalling it). */
  async ask(request: Record<string, unknown>): Promise<AcceptorAnswer> {
    this.#proc.stdin.write(`${JSON.stringify(request)}\n`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`acceptor did not answer ${String(request.op)} in 10 s`)),
        10_000,
      );
    });
    try {
      const next = await Promise.race([this.#lines.next(), timeout]);
      if (next.done) throw new Error('the acceptor exited');
      return JSON.parse(next.value) as AcceptorAnswer;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.#rl.close();
    this.#proc.stdin.end();
    this.#proc.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
export const unb64 = (s: unknown): Uint8Array => new Uint8Array(Buffer.from(String(s), 'base64'));
