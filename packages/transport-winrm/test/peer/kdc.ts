import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway MIT KDC (Debian's krb5-kdc) for the Kerberos tests: its own realm, database, krb5.conf and keytab in
 * a private temp dir (no /etc change), listening on a free TCP port of 127.0.0.1, started in the foreground (`-n`)
 * and stopped by pid. Optionally under libfaketime (a KDC whose clock is off, for the clock-skew test).
 * Debian packages: krb5-kdc krb5-admin-server krb5-user (scripts/setup.sh --peers installs them), faketime.
 */
export const REALM = 'PSREMOTE.TEST';
/** The host name the Kerberos tests use for the endpoint (its SPNs are in the keytab); it need not resolve. */
export const SERVICE_HOST = 'wsman.psremote.test';
export const KDC_USER = 'psuser';
export const KDC_PASSWORD = 'Passw0rd!';

const TOOLS = ['/usr/sbin/krb5kdc', '/usr/sbin/kdb5_util', '/usr/sbin/kadmin.local', '/usr/bin/kinit'];

/** Why the KDC cannot run here, or undefined. Installs nothing. */
export function kdcMissing(): string | undefined {
  const missing = TOOLS.filter((t) => !existsSync(t));
  if (missing.length > 0)
    return `MIT Kerberos tools missing (${missing.join(', ')}): apt-get install krb5-kdc krb5-admin-server krb5-user`;
  return undefined;
}

/** libfaketime's preload library (Debian: /usr/lib/<triplet>/faketime/libfaketime.so.1), or undefined. */
export function libfaketime(): string | undefined {
  for (const base of ['/usr/lib', '/usr/lib64', '/usr/local/lib']) {
    let dirs: string[] = [];
    try {
      dirs = readdirSync(base);
    } catch {
      continue;
    }
    for (const d of ['', ...dirs]) {
      const p = join(base, d, 'faketime', 'libfaketime.so.1');
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

/** Why a KDC with a wrong clock cannot run here, or undefined (apt-get install faketime). */
export function faketimeMissing(): string | undefined {
  return libfaketime() ? undefined : 'libfaketime is not installed (apt-get install faketime)';
}

export interface StartedKdc {
  readonly realm: string;
  readonly dir: string;
  readonly port: number;
  readonly pid: number;
  /** The krb5.conf clients and the endpoint use (KRB5_CONFIG). */
  readonly krb5Config: string;
  /** The service keytab (KRB5_KTNAME) with HTTP/ and WSMAN/ principals of SERVICE_HOST. */
  readonly keytab: string;
  /** KRB5_CONFIG and KRB5_KTNAME for the endpoint. */
  readonly serviceEnv: Readonly<Record<string, string>>;
  /** `kadmin.local` commands (addprinc, ktadd, ...). */
  kadmin(...query: string[]): string;
  /** A service principal with a random key, added to the keytab. */
  addService(principal: string): void;
  /** kinit into `ccache` (a FILE: path), the password on stdin. */
  kinit(ccache: string, user?: string, password?: string): void;
  stop(): Promise<void>;
}

export interface KdcOptions {
  /** Run the KDC under libfaketime with this offset (`+2h`): its clock is off by that much. */
  readonly faketime?: string;
  /** The krb5.conf the clients get points at this port instead of the KDC's (a KDC that is down or mute). */
  readonly clientKdcPort?: number;
  /** More [libdefaults] lines for the clients' krb5.conf (`  kdc_timesync = 0\n`). */
  readonly clientExtra?: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`krb5kdc exited (${proc.exitCode}) before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = netConnect({ host: '127.0.0.1', port }, () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`krb5kdc did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A krb5.conf for REALM with its KDC on 127.0.0.1:`port` (TCP only, no DNS, no host-name canonicalisation). */
export function krb5Conf(port: number, extra = ''): string {
  return `[libdefaults]
  default_realm = ${REALM}
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false
  udp_preference_limit = 1
  ticket_lifetime = 1h
${extra}
[realms]
  ${REALM} = {
    kdc = 127.0.0.1:${port}
  }
[domain_realm]
  .psremote.test = ${REALM}
  psremote.test = ${REALM}
`;
}

export async function startKdc(options: KdcOptions = {}): Promise<StartedKdc> {
  const missing = kdcMissing();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'psremote-kdc-'));
  const port = await freePort();
  const krb5Config = join(dir, 'krb5.conf');
  const kdcConf = join(dir, 'kdc.conf');
  const keytab = join(dir, 'service.keytab');
  writeFileSync(join(dir, 'krb5-kdc.conf'), krb5Conf(port));
  writeFileSync(krb5Config, krb5Conf(options.clientKdcPort ?? port, options.clientExtra));
  writeFileSync(
    kdcConf,
    `[kdcdefaults]
  kdc_ports = ${port}
  kdc_tcp_ports = ${port}
[realms]
  ${REALM} = {
    database_name = ${dir}/principal
    key_stash_file = ${dir}/stash
    acl_file = ${dir}/kadm5.acl
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }
[logging]
  kdc = FILE:${dir}/kdc.log
`,
  );
  const adminEnv = {
    ...process.env,
    KRB5_CONFIG: join(dir, 'krb5-kdc.conf'),
    KRB5_KDC_PROFILE: kdcConf,
  };
  const run = (cmd: string, args: string[], input?: string) =>
    execFileSync(cmd, args, {
      env: adminEnv,
      stdio: 'pipe',
      timeout: 30_000,
      ...(input !== undefined ? { input } : {}),
    }).toString('utf8');
  const kadmin = (...query: string[]) => {
    let out = '';
    for (const q of query) out += run('/usr/sbin/kadmin.local', ['-q', q]);
    return out;
  };
  let proc: ChildProcess | undefined;
  const stop = async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((r) => proc?.once('exit', () => r()));
      try {
        process.kill(proc.pid as number, 'SIGTERM');
      } catch {
        // gone
      }
      const t = setTimeout(() => {
        try {
          process.kill(proc?.pid as number, 'SIGKILL');
        } catch {
          // gone
        }
      }, 3000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('/usr/sbin/kdb5_util', ['create', '-s', '-r', REALM, '-P', 'master-key-password']);
    // Pre-authentication required, as Active Directory does by default: a wrong password is refused by the KDC.
    kadmin(`addprinc +requires_preauth -pw ${KDC_PASSWORD} ${KDC_USER}`);
    const addService = (principal: string) => {
      kadmin(`addprinc -randkey ${principal}`, `ktadd -k ${keytab} ${principal}`);
    };
    for (const svc of ['HTTP', 'WSMAN']) addService(`${svc}/${SERVICE_HOST}`);
    // libfaketime preloaded into krb5kdc itself (not the faketime wrapper, which forks: the pid we stop must be
    // the KDC's).
    const preload = options.faketime ? libfaketime() : undefined;
    if (options.faketime && !preload) throw new Error(faketimeMissing());
    proc = spawn('/usr/sbin/krb5kdc', ['-n', '-P', join(dir, 'kdc.pid')], {
      env: preload
        ? { ...adminEnv, LD_PRELOAD: preload, FAKETIME: options.faketime, DONT_FAKE_MONOTONIC: '1' }
        : adminEnv,
      stdio: 'ignore',
    });
    await waitForPort(port, 10_000, proc);
    const started: StartedKdc = {
      realm: REALM,
      dir,
      port,
      pid: proc.pid as number,
      krb5Config,
      keytab,
      serviceEnv: { KRB5_CONFIG: krb5Config, KRB5_KTNAME: `FILE:${keytab}` },
      kadmin,
      addService,
      kinit(ccache, user = KDC_USER, password = KDC_PASSWORD) {
        execFileSync('/usr/bin/kinit', [user], {
          env: { ...process.env, KRB5_CONFIG: krb5Config, KRB5CCNAME: ccache },
          input: `${password}\n`,
          stdio: 'pipe',
          timeout: 30_000,
        });
      },
      stop,
    };
    return started;
  } catch (e) {
    const log = existsSync(join(dir, 'kdc.log')) ? readFileSync(join(dir, 'kdc.log'), 'utf8') : '';
    await stop();
    throw new Error(`the test KDC did not start: ${(e as Error).message}\n${log.slice(-1000)}`);
  }
}

/**
 * For a test file: the reason to skip, or undefined to run. Under PSREMOTE_REQUIRE_PEERS=1 a missing peer throws.
 */
export function kdcSkipReason(...others: Array<string | undefined>): string | undefined {
  const missing = kdcMissing() ?? others.find((o) => o !== undefined);
  if (!missing) return undefined;
  if (process.env.PSREMOTE_REQUIRE_PEERS === '1')
    throw new Error(`PSREMOTE_REQUIRE_PEERS=1 but the Kerberos peers cannot run: ${missing}`);
  console.warn(`[transport-winrm] Kerberos tests skipped: ${missing}`);
  return missing;
}
