import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { acceptorMissing, PYTHON } from '../acceptor/acceptor.ts';

/**
 * The WS-Management test endpoint (wsman_endpoint.py): authentication and MS-WSMV message encryption by MIT
 * GSSAPI with gss-ntlmssp, each shell relayed to its own `pwsh -s`. Started in a fresh temp dir, stopped by pid
 * (its process group), and every shell's pwsh group with it.
 */
export const ENDPOINT_SCRIPT = join(import.meta.dirname, 'wsman_endpoint.py');

export interface EndpointUser {
  readonly domain: string;
  readonly user: string;
  readonly password: string;
}

/** The default account: `PSREMOTE\psuser`, also reachable as `psuser` and `psuser@psremote.test`. */
export const DEFAULT_USERS: readonly EndpointUser[] = [
  { domain: 'PSREMOTE', user: 'psuser', password: 'Passw0rd!' },
  // A UPN logon sends the whole `user@domain` with an empty domain (see ../acceptor/acceptor.ts).
  { domain: '', user: 'psuser@psremote.test', password: 'Passw0rd!' },
];

export interface WsmanEndpointOptions {
  /** Also an HTTPS listener with a self-signed certificate made at start. */
  readonly https?: boolean;
  /** Only HTTPS. */
  readonly httpsOnly?: boolean;
  /** Over HTTPS refuse NTLM without the right tls-server-end-point binding (Windows' Extended Protection). */
  readonly requireCbt?: boolean;
  /** WinRM's AllowUnencrypted=true: plaintext bodies and Basic over HTTP. */
  readonly allowUnencrypted?: boolean;
  /** Schemes accepted; default negotiate, ntlm and basic. `kerberos` needs a keytab (`env.KRB5_KTNAME`). */
  readonly auth?: ReadonlyArray<'negotiate' | 'ntlm' | 'basic' | 'kerberos' | 'credssp'>;
  /** The TSRequest version the CredSSP acceptor speaks (2..6; default 6). */
  readonly credsspVersion?: number;
  /**
   * `server`: the CredSSP acceptor sends a wrong pubKeyAuth (the client must refuse it); `client`: it checks the
   * client's pubKeyAuth against another key (a relay that terminated the client's TLS: it must refuse the logon).
   */
  readonly credsspTamper?: 'server' | 'client';
  /**
   * Extra environment for the endpoint: KRB5_CONFIG and KRB5_KTNAME for Kerberos (SPNEGO then accepts Kerberos
   * as well as NTLM under `Negotiate`).
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Also offer the bare `NTLM` scheme in 401s. */
  readonly offerNtlm?: boolean;
  /** Bytes; larger requests get the EncodingLimit fault (HTTP 413); default 512000 (Windows' 500 KB). */
  readonly maxEnvelopeSize?: number;
  /** Answer the first `redirectCount` (default 1) requests with `redirectStatus` (default 307) to this URL. */
  readonly redirectTo?: string;
  readonly redirectCount?: number;
  readonly redirectStatus?: 301 | 302 | 303 | 307 | 308;
  /** Close each connection after this many WS-Management answers (the next one must authenticate again). */
  readonly connMaxRequests?: number;
  readonly users?: readonly EndpointUser[];
  /** pwsh for the shells; default PSREMOTE_PWSH, PATH, ~/.dotnet/tools/pwsh. */
  readonly pwsh?: string;
  /** Requests logged to this process's stderr. Default: PSREMOTE_PEER_VERBOSE=1. */
  readonly verbose?: boolean;
  /** How long to wait for LISTENING; default 30 s. */
  readonly startTimeoutMs?: number;
  /** The loopback address to listen on; default 127.0.0.1 (the Kerberos tests use the address `hostname` has). */
  readonly host?: string;
  /** Client-certificate authentication over HTTPS (client_cert.py): the CAs, the mode and the mapping table. */
  readonly clientCertificates?: {
    /** PEM file of the CAs whose client certificates the TLS handshake accepts. */
    readonly caFile: string;
    /** Default 'required' (ssl CERT_REQUIRED). */
    readonly mode?: 'required' | 'optional';
    /** Mapping entries: `<subject pattern> <issuer thumbprint|*> <local user>`. */
    readonly map?: readonly string[];
  };
}

export interface StartedEndpoint {
  /** `http://127.0.0.1:<port>/wsman` (the HTTPS URL when httpsOnly). */
  readonly url: string;
  /** The HTTP port (0 when httpsOnly). */
  readonly port: number;
  readonly httpsPort?: number;
  readonly httpsUrl?: string;
  /** The server certificate (self-signed, so also the CA to trust), PEM. */
  readonly caPem?: string;
  readonly users: readonly EndpointUser[];
  /** The endpoint's pid (its process group's id). */
  readonly pid: number;
  /** Every event line so far (`AUTH ...`, `SHELL <id> <pid>`, ...). */
  readonly events: readonly string[];
  /** The pid of a shell's pwsh, from its `SHELL` line; also its process group id. */
  shellPid(shellId: string): number | undefined;
  /** SIGKILL to a shell's process group (pwsh and, for a dotnet-tool pwsh, its runtime child): "the server died". */
  killShell(shellId: string): void;
  /** Resolves with the first event line (past or future) matching `re`; rejects after `timeoutMs`. */
  waitForEvent(re: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** pwsh as the process transport finds it: PSREMOTE_PWSH, PATH, ~/.dotnet/tools. */
export function findPwsh(): string | undefined {
  const candidates = [
    process.env.PSREMOTE_PWSH,
    ...(process.env.PATH ?? '').split(delimiter).map((d) => (d ? join(d, 'pwsh') : undefined)),
    join(homedir(), '.dotnet', 'tools', 'pwsh'),
  ];
  return candidates.find((c): c is string => c !== undefined && existsSync(c));
}

/** Why the endpoint cannot run here, or undefined when it can. Installs nothing. */
export function endpointMissing(): string | undefined {
  const gss = acceptorMissing();
  if (gss) return gss;
  if (!findPwsh()) return 'pwsh not found (PSREMOTE_PWSH, PATH, ~/.dotnet/tools)';
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
  } catch {
    return 'the openssl CLI is not installed (the endpoint makes its certificate with it)';
  }
  return undefined;
}

/**
 * For a test file: the reason to skip, or undefined to run. Under PSREMOTE_REQUIRE_PEERS=1 a missing peer throws
 * (a failure, not a skip).
 */
export function endpointSkipReason(): string | undefined {
  const missing = endpointMissing();
  if (!missing) return undefined;
  if (process.env.PSREMOTE_REQUIRE_PEERS === '1')
    throw new Error(`PSREMOTE_REQUIRE_PEERS=1 but the WS-Management test endpoint cannot run: ${missing}`);
  console.warn(`[transport-winrm] endpoint tests skipped: ${missing}`);
  return missing;
}

export async function startWsmanEndpoint(opts: WsmanEndpointOptions = {}): Promise<StartedEndpoint> {
  const missing = endpointMissing();
  if (missing) throw new Error(`the WS-Management test endpoint cannot run: ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'psremote-wsman-'));
  const users = opts.users ?? DEFAULT_USERS;
  const usersFile = join(dir, 'users');
  writeFileSync(usersFile, users.map((u) => `${u.domain}:${u.user}:${u.password}\n`).join(''), {
    mode: 0o600,
  });
  const verbose = opts.verbose ?? process.env.PSREMOTE_PEER_VERBOSE === '1';
  const host = opts.host ?? '127.0.0.1';
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  const args = [ENDPOINT_SCRIPT, '--host', host, '--port', '0', '--users', usersFile, '--workdir', dir];
  if (opts.https || opts.httpsOnly) args.push('--https');
  if (opts.httpsOnly) args.push('--https-only');
  if (opts.requireCbt) args.push('--require-cbt');
  if (opts.allowUnencrypted) args.push('--allow-unencrypted');
  if (opts.auth) args.push('--auth', opts.auth.join(','));
  if (opts.offerNtlm) args.push('--offer-ntlm');
  if (opts.credsspVersion !== undefined) args.push('--credssp-version', String(opts.credsspVersion));
  if (opts.credsspTamper) args.push('--credssp-tamper', opts.credsspTamper);
  if (opts.maxEnvelopeSize !== undefined) args.push('--max-envelope-size', String(opts.maxEnvelopeSize));
  if (opts.redirectTo) {
    args.push('--redirect-to', opts.redirectTo, '--redirect-count', String(opts.redirectCount ?? 1));
    args.push('--redirect-status', String(opts.redirectStatus ?? 307));
  }
  if (opts.connMaxRequests) args.push('--conn-max-requests', String(opts.connMaxRequests));
  if (opts.clientCertificates) {
    const c = opts.clientCertificates;
    const mapFile = join(dir, 'certmap');
    writeFileSync(mapFile, (c.map ?? []).map((l) => `${l}\n`).join(''));
    args.push(
      '--client-ca',
      c.caFile,
      '--client-cert-mode',
      c.mode ?? 'required',
      '--client-cert-map',
      mapFile,
    );
  }
  args.push('--pwsh', opts.pwsh ?? (findPwsh() as string));
  if (verbose) args.push('--verbose');

  const proc: ChildProcessWithoutNullStreams = spawn(PYTHON, args, {
    // Its own process group: stop() kills the group, pwsh children included.
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env, NTLM_USER_FILE: usersFile },
  });
  const pid = proc.pid as number;
  const events: string[] = [];
  const watchers = new Set<{ re: RegExp; resolve: (l: string) => void }>();
  const stderrTail: string[] = [];
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  proc.stderr.on('data', (b: Buffer) => {
    if (verbose) process.stderr.write(b);
    stderrTail.push(b.toString('utf8'));
    if (stderrTail.length > 50) stderrTail.shift();
  });
  createInterface({ input: proc.stdout }).on('line', (line) => {
    if (events.length < 10_000) events.push(line);
    for (const w of watchers)
      if (w.re.test(line)) {
        watchers.delete(w);
        w.resolve(line);
      }
  });

  const waitForEvent = (re: RegExp, timeoutMs = 10_000): Promise<string> => {
    const past = events.find((l) => re.test(l));
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const w = {
        re,
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        watchers.delete(w);
        reject(new Error(`the endpoint printed nothing matching ${re} in ${timeoutMs} ms`));
      }, timeoutMs);
      watchers.add(w);
    });
  };

  const shellGroups = () => events.filter((l) => l.startsWith('SHELL ')).map((l) => Number(l.split(' ')[2]));
  const shellPid = (shellId: string) => {
    const line = events.find((l) => l.toUpperCase().startsWith(`SHELL ${shellId.toUpperCase()} `));
    return line ? Number(line.split(' ')[2]) : undefined;
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5000);
      await exitedPromise;
      clearTimeout(timer);
    }
    // The endpoint kills its shells as it exits; make sure none outlives it (each has its own group).
    for (const g of [pid, ...shellGroups()]) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        // none left
      }
    }
    proc.stdin.destroy();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const listening = await Promise.race([
      waitForEvent(/^LISTENING \d+$/, opts.startTimeoutMs ?? 30_000),
      exitedPromise.then(() => {
        throw new Error(
          `the endpoint exited (${exited?.code ?? exited?.signal}) before listening: ${stderrTail.join('').slice(-2000)}`,
        );
      }),
    ]);
    const port = Number(listening.split(' ')[1]);
    const httpsLine = events.find((l) => l.startsWith('HTTPS '));
    const caLine = events.find((l) => l.startsWith('CA '));
    const httpsPort = httpsLine ? Number(httpsLine.split(' ')[1]) : undefined;
    const httpsUrl = httpsPort ? `https://${hostInUrl}:${httpsPort}/wsman` : undefined;
    const caPem = caLine ? readFileSync(caLine.slice(3), 'utf8') : undefined;
    return {
      url: opts.httpsOnly && httpsUrl ? httpsUrl : `http://${hostInUrl}:${port}/wsman`,
      port,
      ...(httpsPort ? { httpsPort, httpsUrl } : {}),
      ...(caPem ? { caPem } : {}),
      users,
      pid,
      events,
      shellPid,
      killShell: (shellId: string) => {
        const g = shellPid(shellId);
        if (!g) throw new Error(`the endpoint has no shell ${shellId}`);
        process.kill(-g, 'SIGKILL');
      },
      waitForEvent,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
