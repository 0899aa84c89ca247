import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPSRemotingError, type PSRemotingError, type PSSession } from '@psremote/core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { gssapiAvailable } from '../../src/auth/integrated-auth.ts';
import { authenticatorFor } from '../../src/auth-select.ts';
import { endpointFromConnectionUri } from '../../src/url/wsman-endpoint.ts';
import type { AuthRequest, WsmanAuthenticator } from '../../src/wsman/auth.ts';
import { WsmanClient } from '../../src/wsman/client.ts';
import { WsmanFault } from '../../src/wsman/errors.ts';
import {
  endpointSkipReason,
  type StartedEndpoint,
  startWsmanEndpoint,
  type WsmanEndpointOptions,
} from './endpoint.ts';
import { kdcSkipReason, type StartedKdc, startKdc } from './kdc.ts';
import { OTHER_CA } from './other-ca.ts';

/**
 * The peer-test headers the WinRM auth files share: which peers they need (the reason to skip, or a throw under
 * PSREMOTE_REQUIRE_PEERS=1), the endpoints (and the KDC) started once per describe block and stopped by pid after
 * it, the KRB5_* environment the GSSAPI library reads set for the block and given back after it, the
 * authenticator wrapper that records what went sealed, and the probe that shows a logon went through.
 */

/** For a Kerberos test file: the endpoint, the KDC and the platform GSSAPI; the reason to skip, or undefined. */
export function kerberosPeersSkipReason(): string | undefined {
  return endpointSkipReason() ?? kdcSkipReason(gssapiAvailable() ? undefined : 'no GSSAPI library');
}

const started = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`${what} is read before its beforeAll started it`);
  return value;
};

/**
 * In a describe block: starts one test endpoint per entry (in parallel) before its tests, stops them after. The
 * result's properties are the started endpoints, readable from the tests and hooks on.
 */
export function withEndpoints<K extends string>(
  specs: Readonly<Record<K, WsmanEndpointOptions>>,
): Readonly<Record<K, StartedEndpoint>> {
  const eps = new Map<K, StartedEndpoint>();
  beforeAll(async () => {
    const names = Object.keys(specs) as K[];
    const all = await Promise.allSettled(names.map((n) => startWsmanEndpoint(specs[n])));
    all.forEach((r, i) => {
      if (r.status === 'fulfilled') eps.set(names[i]!, r.value);
    });
    const failed = all.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }, 60_000);
  afterAll(async () => {
    await Promise.all([...eps.values()].map((e) => e.stop()));
  });
  const view = {} as Record<K, StartedEndpoint>;
  for (const name of Object.keys(specs) as K[])
    Object.defineProperty(view, name, { get: () => started(eps.get(name), `the endpoint '${name}'`) });
  return view;
}

export interface KdcEndpointOptions {
  /** The endpoint's options; its `env` gets the KDC's KRB5_CONFIG and KRB5_KTNAME. */
  readonly endpoint?: WsmanEndpointOptions;
  /** More service principals for the keytab before the endpoint starts (`HTTP/<name>`). */
  readonly services?: readonly string[];
  /** After each test, KRB5CCNAME and KRB5_CONFIG go back to the block's (for tests that point them elsewhere). */
  readonly restoreEnvAfterEach?: boolean;
}

export interface KdcEndpoint {
  readonly kdc: StartedKdc;
  readonly ep: StartedEndpoint;
  /** A scratch directory for the block (krb5.conf variants, ticket caches), removed after it. */
  readonly dir: string;
  /** A ticket cache path that does not exist (KRB5CCNAME is `FILE:` this): explicit credentials need none. */
  readonly noCcache: string;
}

/**
 * In a describe block: a throwaway MIT KDC and one test endpoint whose acceptor uses the KDC's keytab; for the
 * block, KRB5_CONFIG is the KDC's and KRB5CCNAME a cache that does not exist (no ticket unless a test makes one),
 * both given back afterwards as they were.
 */
export function withKdcEndpoint(options: KdcEndpointOptions = {}): KdcEndpoint {
  let kdc: StartedKdc | undefined;
  let ep: StartedEndpoint | undefined;
  let dir: string | undefined;
  const saved = { KRB5_CONFIG: process.env.KRB5_CONFIG, KRB5CCNAME: process.env.KRB5CCNAME };
  const setEnv = () => {
    if (!kdc || !dir) return;
    process.env.KRB5_CONFIG = kdc.krb5Config;
    process.env.KRB5CCNAME = `FILE:${join(dir, 'none')}`;
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'psremote-krb-'));
    kdc = await startKdc();
    for (const s of options.services ?? []) kdc.addService(s);
    setEnv();
    const opts = options.endpoint ?? {};
    ep = await startWsmanEndpoint({ ...opts, env: { ...opts.env, ...kdc.serviceEnv } });
  }, 60_000);
  if (options.restoreEnvAfterEach) afterEach(setEnv);
  afterAll(async () => {
    await ep?.stop();
    await kdc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  return {
    get kdc() {
      return started(kdc, 'the KDC');
    },
    get ep() {
      return started(ep, 'the endpoint');
    },
    get dir() {
      return started(dir, 'the scratch directory');
    },
    get noCcache() {
      return join(started(dir, 'the scratch directory'), 'none');
    },
  };
}

/**
 * `authenticatorFor` with every non-empty body's Content-Type recorded in `sentTypes` (to prove what went sealed);
 * otherwise the same authenticator, hook for hook.
 */
export function recordingAuthenticatorFor(): { factory: typeof authenticatorFor; sentTypes: string[] } {
  const sentTypes: string[] = [];
  const factory: typeof authenticatorFor = (request) => {
    const inner = authenticatorFor(request);
    const auth: WsmanAuthenticator = {
      async prepare(req: AuthRequest) {
        const p = await inner.prepare(req);
        if ((p.body ?? req.body).length > 0)
          sentTypes.push(p.headers['content-type'] ?? 'application/soap+xml');
        return p;
      },
      ...(inner.challenge ? { challenge: (res) => inner.challenge?.(res) ?? false } : {}),
      ...(inner.unwrap ? { unwrap: (res) => inner.unwrap?.(res) ?? res.body } : {}),
      ...(inner.reset ? { reset: (lane, generation) => inner.reset?.(lane, generation) } : {}),
    };
    return auth;
  };
  return { factory, sentTypes };
}

/** A WS-Management client for `url` with `auth` (and `ca` trusted for HTTPS), 10 s Receives. */
export function clientFor(url: string, auth: WsmanAuthenticator, ca?: string): WsmanClient {
  return new WsmanClient({
    endpoint: endpointFromConnectionUri({ connectionUri: url }),
    auth,
    receiveTimeoutSeconds: 10,
    ...(ca ? { tls: { ca } } : {}),
  });
}

/** A request that reaches WS-Management once authenticated: a Receive for a shell that does not exist. */
export async function probe(client: WsmanClient, ms = 20_000): Promise<unknown> {
  return client
    .receive({ shellId: '00000000-0000-0000-0000-000000000000' }, AbortSignal.timeout(ms))
    .catch((e: unknown) => e);
}

/** What `probe` gets once authenticated: the ShellNotFound fault (0x80338043). */
export function expectShellNotFound(e: unknown): void {
  expect(e).toBeInstanceOf(WsmanFault);
  expect((e as WsmanFault).info.wsmanCode).toBe(2150858843);
}

/** DER of a certificate no endpoint serves (other-ca.ts): its tls-server-end-point binding fits no server here. */
export const OTHER_CERT_DER = new Uint8Array(new X509Certificate(OTHER_CA).raw);

/** `inner`, binding to another certificate than the server's: what a client behind a man in the middle sends. */
export function bindingAnotherCertificate(inner: WsmanAuthenticator): WsmanAuthenticator {
  return {
    ...inner,
    prepare: (req) => inner.prepare(req.peerCertificate ? { ...req, peerCertificate: OTHER_CERT_DER } : req),
  };
}

/** The error an open that must fail fails with; a session that opened anyway is closed and the test fails. */
export async function openFailure(opening: Promise<PSSession>): Promise<PSRemotingError> {
  return opening.then(
    async (s) => {
      await s.close();
      throw new Error('opened');
    },
    (x: unknown) => x as PSRemotingError,
  );
}

/** An open that must fail with a PSRemotingError (anything else is a test failure). */
export async function remotingFailure(opening: Promise<PSSession>): Promise<PSRemotingError> {
  const e = await openFailure(opening);
  expect(isPSRemotingError(e)).toBe(true);
  return e;
}

/** The ClientCertificateFailure an open's error carries as its cause. */
export const certificateFailureOf = (e: PSRemotingError): string | undefined =>
  (e.cause as { failure?: string } | undefined)?.failure;

/**
 * The client-certificate fixtures (test/fixtures/client-certs): the test CA and the thumbprints of its certificates
 * (psuser is mapped at the endpoint, nobody is not, locked has an encrypted key).
 */
export const CLIENT_CERTS = (() => {
  const dir = join(import.meta.dirname, '..', 'fixtures', 'client-certs');
  const caFile = join(dir, 'ca.pem');
  return {
    dir,
    caFile,
    caThumbprint: new X509Certificate(readFileSync(caFile)).fingerprint.replace(/:/g, ''),
    psuser: 'CA2C4B9673AC9CE8D84352867C47BDB47DC8A44C',
    nobody: '0F0151719EF9411B6C030C52C69B1F203E19BA5E',
    locked: 'DF00908B24C1D149D5EA23F27948FB1FCF83D0F7',
  } as const;
})();
