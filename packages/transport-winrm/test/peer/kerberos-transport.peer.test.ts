import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BoundValue,
  isPSRemotingError,
  openSession,
  type PSRemotingError,
  type PSSession,
  RecordingHostUi,
} from '@psremote/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gssapiAvailable } from '../../src/auth/integrated-auth.ts';
import { authenticatorFor } from '../../src/auth-select.ts';
import { createWinrmTransport } from '../../src/winrm-transport.ts';
import type { AuthRequest, WsmanAuthenticator } from '../../src/wsman/auth.ts';
import { endpointSkipReason, type StartedEndpoint, startWsmanEndpoint } from './endpoint.ts';
import { KDC_PASSWORD, KDC_USER, kdcSkipReason, REALM, type StartedKdc, startKdc } from './kdc.ts';
import { kerberosHost, kerberosHostSkipReason } from './kerberos-host.ts';

/**
 * Kerberos through the whole WinRM transport (openSession, WinrmConnection, WsmanClient, authenticatorFor with the
 * platform GSSAPI) as a user types it: `-ComputerName <this machine's name>`, the SPN `HTTP/<name>` in the test KDC,
 * the endpoint on the loopback address the name resolves to. kerberos.peer.test.ts checks the authenticators one by
 * one with a `hostname` override; this checks that the transport forms the SPN, the credential and the sealing
 * itself.
 */
const host = await kerberosHost();
const skip =
  endpointSkipReason() ??
  kdcSkipReason(gssapiAvailable() ? undefined : 'no GSSAPI library') ??
  kerberosHostSkipReason(host);
const NAME = typeof host === 'string' ? '' : host.name;
const UPN = `${KDC_USER}@${REALM}`;
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Records the Content-Type of every body the transport sends. */
const sentTypes: string[] = [];
const recordingFactory: typeof authenticatorFor = (request) => {
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
    ...(inner.reset ? { reset: (lane) => inner.reset?.(lane) } : {}),
  };
  return auth;
};

describe.skipIf(skip !== undefined)('Kerberos through the WinRM transport to this machine by name', () => {
  let kdc: StartedKdc;
  let ep: StartedEndpoint;
  let ccDir: string;
  const transport = createWinrmTransport({ authenticatorFor: recordingFactory });
  const saved = { KRB5_CONFIG: process.env.KRB5_CONFIG, KRB5CCNAME: process.env.KRB5CCNAME };

  beforeAll(async () => {
    kdc = await startKdc();
    kdc.addService(`HTTP/${NAME}`);
    ccDir = mkdtempSync(join(tmpdir(), 'psremote-cc-'));
    process.env.KRB5_CONFIG = kdc.krb5Config;
    // No ticket cache at all unless a test makes one.
    process.env.KRB5CCNAME = `FILE:${join(ccDir, 'none')}`;
    ep = await startWsmanEndpoint({
      host: typeof host === 'string' ? '127.0.0.1' : host.address,
      auth: ['negotiate', 'kerberos', 'ntlm', 'basic'],
      env: kdc.serviceEnv,
    });
  }, 60_000);
  afterAll(async () => {
    await ep?.stop();
    await kdc?.stop();
    if (ccDir) rmSync(ccDir, { recursive: true, force: true });
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  function open(bound: Record<string, BoundValue>): Promise<PSSession> {
    return openSession({
      transport,
      bound: { parameterSet: 'ComputerName', bound: { ComputerName: NAME, Port: ep.port, ...bound } },
      hostUi: new RecordingHostUi(),
      env: { LANG: 'en_US.UTF-8' },
    });
  }

  it('-Authentication Kerberos -Credential user@REALM: no ticket cache, SPN HTTP/<name>, every body sealed', async () => {
    sentTypes.length = 0;
    const before = ep.events.length;
    const s = await open({
      Authentication: 'Kerberos',
      Credential: { userName: UPN, password: KDC_PASSWORD },
    });
    try {
      expect(s.computerName).toBe(NAME);
      expect((await s.invoke('6*7').result()).output).toEqual([42]);
    } finally {
      await s.close();
    }
    const auths = ep.events.slice(before).filter((l) => l.startsWith('AUTH '));
    expect(auths.length).toBeGreaterThanOrEqual(2);
    for (const a of auths)
      expect(a).toMatch(
        new RegExp(
          `^AUTH \\d+ Kerberos psuser@PSREMOTE\\.TEST cbt=none target=HTTP/${reEscape(NAME)}@PSREMOTE\\.TEST mech=krb5$`,
        ),
      );
    expect(sentTypes.length).toBeGreaterThan(3);
    for (const t of sentTypes)
      expect(t).toBe(
        'multipart/encrypted;protocol="application/HTTP-Kerberos-session-encrypted";boundary="Encrypted Boundary"',
      );
  }, 60_000);

  it("no -Credential after kinit (Default = Negotiate with the user's tickets): Kerberos inside SPNEGO, sealed", async () => {
    const ccache = `FILE:${join(ccDir, 'cc')}`;
    kdc.kinit(ccache);
    process.env.KRB5CCNAME = ccache;
    sentTypes.length = 0;
    const before = ep.events.length;
    try {
      const s = await open({});
      try {
        expect((await s.invoke('"kerberos:" + (1+1)').result()).output).toEqual(['kerberos:2']);
      } finally {
        await s.close();
      }
    } finally {
      process.env.KRB5CCNAME = `FILE:${join(ccDir, 'none')}`;
    }
    const auths = ep.events.slice(before).filter((l) => l.startsWith('AUTH '));
    expect(auths.length).toBeGreaterThanOrEqual(1);
    for (const a of auths)
      expect(a).toMatch(
        new RegExp(
          `^AUTH \\d+ Negotiate psuser@PSREMOTE\\.TEST cbt=none target=HTTP/${reEscape(NAME)}@PSREMOTE\\.TEST mech=krb5$`,
        ),
      );
    for (const t of sentTypes)
      expect(t).toBe(
        'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"',
      );
  }, 60_000);

  it('no -Credential and no ticket: PowerShell-style error, nothing authenticated', async () => {
    const before = ep.events.length;
    const e = await open({}).then(
      async (s) => {
        await s.close();
        throw new Error('opened');
      },
      (x: unknown) => x as PSRemotingError,
    );
    expect(isPSRemotingError(e)).toBe(true);
    expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(e.message).toMatch(
      new RegExp(`^Connecting to remote server ${reEscape(NAME)} failed with the following error message : `),
    );
    expect(e.message).toContain('0x8009030e');
    expect(ep.events.slice(before).filter((l) => l.startsWith('AUTH '))).toEqual([]);
  }, 30_000);
});
