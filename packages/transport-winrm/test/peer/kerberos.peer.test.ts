import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GssUnavailableError, KerberosAuthError } from '../../src/auth/gssapi/gss-errors.ts';
import { gssapiAvailable, integratedAuthenticator } from '../../src/auth/integrated-auth.ts';
import { type KerberosAuthOptions, kerberosAuth } from '../../src/auth/kerberos-auth.ts';
import { WsmanAuthError } from '../../src/auth/negotiate-auth.ts';
import { type NegotiateChoice, negotiateWithKerberosAuth } from '../../src/auth/negotiate-kerberos.ts';
import { endpointFromComputerName } from '../../src/url/wsman-endpoint.ts';
import { faketimeMissing, KDC_PASSWORD, KDC_USER, krb5Conf, REALM, SERVICE_HOST, startKdc } from './kdc.ts';
import {
  bindingAnotherCertificate,
  clientFor,
  expectShellNotFound,
  kerberosPeersSkipReason,
  probe,
  withEndpoints,
  withKdcEndpoint,
} from './peers.ts';
import { outputs, PoolSession, recording } from './pool-session.ts';

/**
 * Kerberos through the platform GSSAPI (koffi -> MIT libgssapi_krb5) against a throwaway MIT KDC and the test
 * WSMan endpoint, whose acceptor is MIT GSSAPI through python3-gssapi with the KDC's keytab: the tokens, the
 * channel bindings and every sealed body are checked by an implementation that is not ours.
 *
 * The endpoint listens on 127.0.0.1; the SPN host is SERVICE_HOST (the `hostname` override: WinRM refuses Kerberos
 * to 127.0.0.1 and localhost, and the name need not resolve).
 */
const skip = kerberosPeersSkipReason();
const UPN = `${KDC_USER}@${REALM}`;
const ONE_MB_PLUS = 1_100_000;

const explicit = (extra: Partial<KerberosAuthOptions> = {}): KerberosAuthOptions => ({
  username: UPN,
  password: KDC_PASSWORD,
  hostname: SERVICE_HOST,
  ...extra,
});

describe.skipIf(skip !== undefined)('Kerberos against an MIT KDC and the test endpoint', () => {
  // KRB5CCNAME names a cache that does not exist: explicit credentials must never need (or write) one.
  const peers = withKdcEndpoint({
    endpoint: { https: true, auth: ['negotiate', 'kerberos', 'ntlm', 'basic'] },
    restoreEnvAfterEach: true,
  });

  it('-Authentication Kerberos with an explicit credential and no ticket cache: a pool, 1 MB+ each way, every body sealed', async () => {
    const auth = kerberosAuth(explicit());
    const rec = recording(auth);
    const client = clientFor(peers.ep.url, rec.auth);
    const signal = AbortSignal.timeout(120_000);
    try {
      const s = new PoolSession(client);
      await s.open(signal);
      // 1.1 MB of output: many Receives, each answer sealed by gss_wrap_iov on the server and unsealed here.
      const big = outputs(await s.run(`'x' * ${ONE_MB_PLUS}`, signal)) as string[];
      expect(big).toHaveLength(1);
      expect(big[0]?.length).toBe(ONE_MB_PLUS);
      expect(/^x+$/.test(big[0] as string)).toBe(true);
      // 1.1 MB of input: the script itself, sent in many sealed Sends that the server must unseal to run it.
      const script = `'${'y'.repeat(ONE_MB_PLUS)}'.Length`;
      expect(outputs(await s.run(script, signal))).toEqual([ONE_MB_PLUS]);
      await client.delete({ shellId: s.shellId }, signal);
    } finally {
      await client.close();
      auth.dispose();
    }
    const auths = peers.ep.events.filter((l) => / Kerberos /.test(l) && l.startsWith('AUTH '));
    expect(auths.length).toBeGreaterThanOrEqual(2); // the operation lane and the receive lane
    for (const a of auths)
      expect(a).toMatch(
        /^AUTH \d+ Kerberos psuser@PSREMOTE\.TEST cbt=none target=HTTP\/wsman\.psremote\.test@PSREMOTE\.TEST mech=krb5$/,
      );
    const sealed =
      'multipart/encrypted;protocol="application/HTTP-Kerberos-session-encrypted";boundary="Encrypted Boundary"';
    expect(rec.sent.length).toBeGreaterThan(10);
    for (const ct of [...rec.sent, ...rec.received]) expect(ct).toBe(sealed);
    expect(rec.sentBytes.reduce((a, b) => a + b, 0)).toBeGreaterThan(ONE_MB_PLUS);
    // The password's ticket lived in the library's memory ccache: nothing was written where KRB5CCNAME points.
    expect(existsSync(peers.noCcache)).toBe(false);
  });

  it('the answer to a sealed request whose lane was reset meanwhile is refused, not read as plaintext', async () => {
    for (const scheme of ['Kerberos', 'Negotiate'] as const) {
      const auth = kerberosAuth(explicit({ scheme }));
      try {
        const soap = new TextEncoder().encode('<s:Envelope>injected</s:Envelope>');
        const orphan = {
          lane: 'operation',
          status: 200,
          headers: { 'content-type': 'application/soap+xml' },
          body: soap,
          requestSealed: true,
        };
        await expect(Promise.resolve().then(() => auth.unwrap?.(orphan))).rejects.toMatchObject({
          errorId: 'WinRMEncryptedBodyInvalid',
        });
        // The same answer to a request that went in clear (a handshake leg, a fault) is read as it came.
        const clear = { ...orphan, requestSealed: false };
        expect(await auth.unwrap?.(clear)).toEqual(soap);
      } finally {
        auth.dispose();
      }
    }
  });

  it('Negotiate with implicit credentials after kinit: Kerberos inside SPNEGO, sealed', async () => {
    const ccDir = mkdtempSync(join(tmpdir(), 'psremote-cc-'));
    try {
      const ccache = `FILE:${join(ccDir, 'cc')}`;
      peers.kdc.kinit(ccache);
      process.env.KRB5CCNAME = ccache;
      const choices: NegotiateChoice[] = [];
      const auth = integratedAuthenticator({
        mechanism: 'NegotiateWithImplicitCredential',
        endpoint: { computerName: SERVICE_HOST, host: SERVICE_HOST },
        onMechanism: (c) => choices.push(c),
      });
      const rec = recording(auth);
      const client = clientFor(peers.ep.url, rec.auth);
      const signal = AbortSignal.timeout(60_000);
      try {
        const s = new PoolSession(client);
        await s.open(signal);
        expect(outputs(await s.run('6*7', signal))).toEqual([42]);
        await client.delete({ shellId: s.shellId }, signal);
      } finally {
        await client.close();
        auth.dispose();
      }
      expect(choices).toEqual([{ mechanism: 'Kerberos' }]);
      await peers.ep.waitForEvent(
        /^AUTH \d+ Negotiate psuser@PSREMOTE\.TEST cbt=none target=HTTP\/wsman\.psremote\.test@PSREMOTE\.TEST mech=krb5$/,
      );
      for (const ct of [...rec.sent, ...rec.received])
        expect(ct).toBe(
          'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"',
        );
      // -Authentication Kerberos with no -Credential takes the same tickets.
      const bare = kerberosAuth({ hostname: SERVICE_HOST });
      const c2 = clientFor(peers.ep.url, bare);
      expectShellNotFound(await probe(c2));
      await c2.close();
      bare.dispose();
      await peers.ep.waitForEvent(
        /^AUTH \d+ Kerberos psuser@PSREMOTE\.TEST cbt=none target=HTTP\/wsman\.psremote\.test@/,
      );
      // The service ticket went into the user's cache, as with any Kerberos client.
      const klist = execFileSync('/usr/bin/klist', [ccache], {
        env: { ...process.env, KRB5_CONFIG: peers.kdc.krb5Config },
      }).toString();
      expect(klist).toContain(`HTTP/${SERVICE_HOST}@${REALM}`);
    } finally {
      rmSync(ccDir, { recursive: true, force: true });
    }
  });

  it('implicit credentials without a ticket: a clear error, nothing sent', async () => {
    const auth = integratedAuthenticator({
      mechanism: 'Negotiate',
      endpoint: { computerName: SERVICE_HOST, host: SERVICE_HOST },
    });
    const before = peers.ep.events.length;
    const client = clientFor(peers.ep.url, auth);
    const err = await probe(client);
    await client.close();
    expect(err).toBeInstanceOf(KerberosAuthError);
    const k = err as KerberosAuthError;
    expect(k.failure).toBe('NoCredentials');
    expect(k.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(k.errorCode).toBe(0x8009030e | 0);
    expect(k.message).toMatch(
      /^Connecting to remote server wsman\.psremote\.test failed with the following error message : WinRM cannot process the request\. The following error with errorcode 0x8009030e occurred while using Negotiate authentication: /,
    );
    expect(k.message).toContain('kinit');
    expect(peers.ep.events.slice(before).filter((l) => l.startsWith('AUTH'))).toEqual([]);
  });

  it('a wrong password: LogonDenied (0x8009030c) with the KDC answer, and Negotiate does not fall back to NTLM', async () => {
    for (const make of [
      () => kerberosAuth(explicit({ password: 'wrong' })),
      () => negotiateWithKerberosAuth({ ...explicit({ password: 'wrong' }) }),
    ]) {
      const client = clientFor(peers.ep.url, make());
      const err = await probe(client);
      await client.close();
      expect(err).toBeInstanceOf(KerberosAuthError);
      const k = err as KerberosAuthError;
      expect(k.failure).toBe('LogonDenied');
      expect(k.errorCode).toBe(-2146893044);
      expect(k.transportErrorId).toBe('-2146893044');
      expect(k.newPSSessionErrorId).toBe('-2146893044,PSSessionOpenFailed');
      expect(k.message).toContain('The following error with errorcode 0x8009030c occurred while using');
      expect(k.message).toContain('The user name or password is incorrect.');
      expect(k.gss?.text).toMatch(/Preauthentication failed/i);
      expect(k.message).not.toMatch(/\n\s+at /); // no stack in what users see
    }
  });

  it('an unknown principal: PrincipalUnknown for Kerberos; Negotiate goes on with NTLM (refused there too)', async () => {
    const client = clientFor(peers.ep.url, kerberosAuth(explicit({ username: `nobody@${REALM}` })));
    const err = await probe(client);
    await client.close();
    expect(err).toBeInstanceOf(KerberosAuthError);
    expect((err as KerberosAuthError).failure).toBe('PrincipalUnknown');
    expect((err as KerberosAuthError).gss?.text).toMatch(/not found in Kerberos database/);

    const choices: NegotiateChoice[] = [];
    const neg = negotiateWithKerberosAuth({
      ...explicit({ username: `nobody@${REALM}` }),
      onMechanism: (c) => choices.push(c),
    });
    const c2 = clientFor(peers.ep.url, neg);
    const err2 = await probe(c2);
    await c2.close();
    expect(choices).toEqual([{ mechanism: 'NTLM', reason: 'PrincipalUnknown' }]);
    expect(err2).toBeInstanceOf(WsmanAuthError);
    expect((err2 as WsmanAuthError).reason).toBe('AccessDenied');
  });

  it('Negotiate with a Windows-style DOMAIN\\user whose realm has no KDC: NTLM, and it works', async () => {
    const choices: NegotiateChoice[] = [];
    const auth = negotiateWithKerberosAuth({
      username: 'PSREMOTE\\psuser',
      password: 'Passw0rd!',
      hostname: SERVICE_HOST,
      onMechanism: (c) => choices.push(c),
    });
    const client = clientFor(peers.ep.url, auth);
    const err = await probe(client);
    await client.close();
    expectShellNotFound(err);
    expect(choices).toEqual([{ mechanism: 'NTLM', reason: 'KdcUnreachable' }]);
    await peers.ep.waitForEvent(/^AUTH \d+ Negotiate PSREMOTE\\psuser cbt=none /);
  });

  it('HTTPS: the tls-server-end-point channel binding goes inside the Kerberos token; plaintext bodies', async () => {
    const rec = recording(kerberosAuth(explicit()));
    const client = clientFor(peers.ep.httpsUrl as string, rec.auth, peers.ep.caPem);
    const signal = AbortSignal.timeout(60_000);
    try {
      const s = new PoolSession(client);
      await s.open(signal);
      expect(outputs(await s.run('"$(40+2)"', signal))).toEqual(['42']);
      await client.delete({ shellId: s.shellId }, signal);
    } finally {
      await client.close();
    }
    await peers.ep.waitForEvent(
      /^AUTH \d+ Kerberos psuser@PSREMOTE\.TEST cbt=ok target=HTTP\/wsman\.psremote\.test@/,
    );
    for (const ct of [...rec.sent, ...rec.received]) expect(ct).toMatch(/^application\/soap\+xml/);
  });

  it('HTTPS: the binding of another certificate is refused by the acceptor', async () => {
    for (const scheme of ['Kerberos', 'Negotiate'] as const) {
      const inner = kerberosAuth(explicit({ scheme }));
      const lying = bindingAnotherCertificate(inner);
      const client = clientFor(peers.ep.httpsUrl as string, lying, peers.ep.caPem);
      const err = await probe(client);
      await client.close();
      expect(err).toBeInstanceOf(WsmanAuthError);
      expect((err as WsmanAuthError).status).toBe(401);
      await peers.ep.waitForEvent(new RegExp(`^AUTHFAIL \\d+ ${scheme} BadChannelBindingsError$`));
    }
  });

  it('IncludePortInSPN asks for HTTP/host:port; service WSMAN asks for WSMAN/host', async () => {
    peers.kdc.addService(`HTTP/${SERVICE_HOST}:${peers.ep.port}`);
    const a = clientFor(peers.ep.url, kerberosAuth(explicit({ includePortInSpn: true })));
    expectShellNotFound(await probe(a));
    await a.close();
    await peers.ep.waitForEvent(
      new RegExp(
        `^AUTH \\d+ Kerberos psuser@PSREMOTE\\.TEST cbt=none target=HTTP/wsman\\.psremote\\.test:${peers.ep.port}@`,
      ),
    );
    const b = clientFor(peers.ep.url, kerberosAuth(explicit({ service: 'WSMAN' })));
    expectShellNotFound(await probe(b));
    await b.close();
    await peers.ep.waitForEvent(
      /^AUTH \d+ Kerberos psuser@PSREMOTE\.TEST cbt=none target=WSMAN\/wsman\.psremote\.test@/,
    );
  });

  it('an SPN the KDC does not know: TargetUnknown (0x80090303); Negotiate goes on with NTLM', async () => {
    const client = clientFor(peers.ep.url, kerberosAuth(explicit({ hostname: 'nosuch.psremote.test' })));
    const err = await probe(client);
    await client.close();
    expect((err as KerberosAuthError).failure).toBe('TargetUnknown');
    expect((err as KerberosAuthError).errorCode).toBe(-2146893053);
    expect((err as KerberosAuthError).transportErrorId).toBe('TargetUnknown');
    const choices: NegotiateChoice[] = [];
    const neg = negotiateWithKerberosAuth({
      username: 'psuser@psremote.test',
      password: 'Passw0rd!',
      hostname: 'nosuch.psremote.test',
      onMechanism: (c) => choices.push(c),
    });
    const c2 = clientFor(peers.ep.url, neg);
    expectShellNotFound(await probe(c2));
    await c2.close();
    expect(choices).toEqual([{ mechanism: 'NTLM', reason: 'TargetUnknown' }]);
  });

  it('a KDC that is down: KdcUnreachable at once; Negotiate with a password uses NTLM', async () => {
    const down = await startKdc();
    await down.stop(); // its port now refuses connections
    const confPath = join(peers.dir, 'down.conf');
    writeFileSync(confPath, krb5Conf(down.port));
    process.env.KRB5_CONFIG = confPath;
    const t0 = performance.now();
    const client = clientFor(peers.ep.url, kerberosAuth(explicit()));
    const err = await probe(client);
    await client.close();
    expect(performance.now() - t0).toBeLessThan(15_000);
    expect(err).toBeInstanceOf(KerberosAuthError);
    expect((err as KerberosAuthError).failure).toBe('KdcUnreachable');
    expect((err as KerberosAuthError).errorCode).toBe(0x80090311 | 0);
    expect((err as KerberosAuthError).message).toContain(
      'There are currently no logon servers available to service the logon request.',
    );
    const choices: NegotiateChoice[] = [];
    const neg = negotiateWithKerberosAuth({
      username: 'psuser@psremote.test',
      password: 'Passw0rd!',
      hostname: SERVICE_HOST,
      onMechanism: (c) => choices.push(c),
    });
    const c2 = clientFor(peers.ep.url, neg);
    expectShellNotFound(await probe(c2));
    await c2.close();
    expect(choices).toEqual([{ mechanism: 'NTLM', reason: 'KdcUnreachable' }]);
  });

  it('a KDC that accepts and never answers: bounded by kdcTimeoutMs, KdcUnreachable', async () => {
    const sockets = new Set<Socket>();
    const mute: Server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', () => r()));
    try {
      const confPath = join(peers.dir, 'mute.conf');
      writeFileSync(confPath, krb5Conf((mute.address() as { port: number }).port));
      process.env.KRB5_CONFIG = confPath;
      const t0 = performance.now();
      const client = clientFor(peers.ep.url, kerberosAuth(explicit({ kdcTimeoutMs: 1500 })));
      const err = await probe(client);
      await client.close();
      const took = performance.now() - t0;
      expect(took).toBeGreaterThanOrEqual(1400);
      expect(took).toBeLessThan(6000);
      expect((err as KerberosAuthError).failure).toBe('KdcUnreachable');
      expect((err as KerberosAuthError).gss?.text).toBe('no answer from the KDC within 1500 ms');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => mute.close(() => r()));
    }
  });

  it.skipIf(faketimeMissing() !== undefined)(
    'a KDC whose clock is 2 hours off: ClockSkew (0x80090324)',
    async () => {
      const skewed = await startKdc({ faketime: '+2h', clientExtra: '  kdc_timesync = 0\n' });
      try {
        process.env.KRB5_CONFIG = skewed.krb5Config;
        const client = clientFor(peers.ep.url, kerberosAuth(explicit()));
        const err = await probe(client);
        await client.close();
        expect(err).toBeInstanceOf(KerberosAuthError);
        expect((err as KerberosAuthError).failure).toBe('ClockSkew');
        expect((err as KerberosAuthError).errorCode).toBe(0x80090324 | 0);
        expect((err as KerberosAuthError).message).toContain(
          'The clocks on the client and server machines are skewed.',
        );
        expect((err as KerberosAuthError).gss?.text).toMatch(/Clock skew too great/);
      } finally {
        await skewed.stop();
      }
    },
  );
});

describe('refused before anything goes on the wire', () => {
  it('Kerberos to an IP address: ERROR_WSMAN_KERBEROS_IPADDRESS, as WinRM words it', () => {
    for (const host of ['10.1.2.3', '[fe80::1]']) {
      const ep = endpointFromComputerName({ computerName: host });
      let err: unknown;
      try {
        integratedAuthenticator({
          mechanism: 'Kerberos',
          credential: { userName: UPN, reveal: () => 'x' },
          endpoint: ep,
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KerberosAuthError);
      const k = err as KerberosAuthError;
      expect(k.failure).toBe('TargetNotAllowed');
      expect(k.errorCode).toBe(0x8033810b | 0);
      expect(k.message).toBe(
        `Connecting to remote server ${ep.computerName} failed with the following error message : The WinRM client cannot process the request. Kerberos authentication cannot be used when the destination is an IP address. Specify a DNS or NetBIOS destination or specify Basic or Negotiate authentication. For more information, see the about_Remote_Troubleshooting Help topic.`,
      );
    }
  });

  it('Kerberos to localhost, 127.0.0.1 or [::1]: ERROR_WSMAN_SERVER_DESTINATION_LOCALHOST', () => {
    for (const host of ['localhost', '127.0.0.1', '[::1]']) {
      const ep = endpointFromComputerName({ computerName: host });
      const err = (() => {
        try {
          integratedAuthenticator({ mechanism: 'Kerberos', endpoint: ep });
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(KerberosAuthError);
      expect((err as KerberosAuthError).errorCode).toBe(-2144108274);
      expect((err as KerberosAuthError).transportErrorId).toBe('InvalidAuthentication');
      expect((err as KerberosAuthError).message).toContain(
        'you cannot use "localhost" or "127.0.0.1" or "[::1]"',
      );
    }
  });

  it('NegotiateWithImplicitCredential with -Credential: NewRunspaceAmbiguousAuthentication', () => {
    expect(() =>
      integratedAuthenticator({
        mechanism: 'NegotiateWithImplicitCredential',
        credential: { userName: 'a', reveal: () => 'b' },
        endpoint: { computerName: 'srv', host: 'srv' },
      }),
    ).toThrowError(
      expect.objectContaining({
        errorId: 'NewRunspaceAmbiguousAuthentication',
        message: 'A Credential cannot be specified when NegotiateWithImplicitCredential is specified.',
      }),
    );
  });

  it('no credential, Negotiate to an IP address: explicit credentials required (no logon session for NTLM)', async () => {
    const auth = integratedAuthenticator({
      mechanism: 'Default',
      endpoint: { computerName: '10.1.2.3', host: '10.1.2.3' },
    });
    const err = await Promise.resolve()
      .then(() =>
        auth.prepare({
          lane: 'operation',
          url: new URL('http://10.1.2.3:5985/wsman'),
          body: new Uint8Array(0),
          attempt: 0,
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KerberosAuthError);
    expect((err as KerberosAuthError).errorCode).toBe(0x803380e5 | 0);
    expect((err as KerberosAuthError).transportErrorId).toBe('ExplicitCredentialsRequired');
  });
});

describe('without the GSSAPI library or koffi', () => {
  it('a library that cannot be loaded: KerberosNotAvailable naming it; gssapiAvailable is false', () => {
    const gssapi = { library: '/nonexistent/libgssapi_krb5.so.2' };
    expect(gssapiAvailable(gssapi)).toBe(false);
    const err = (() => {
      try {
        kerberosAuth({ gssapi });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(GssUnavailableError);
    expect((err as GssUnavailableError).errorId).toBe('KerberosNotAvailable');
    expect((err as GssUnavailableError).reason).toBe('LibraryMissing');
    expect((err as GssUnavailableError).category).toBe('NotInstalled');
    expect((err as GssUnavailableError).message).toContain('/nonexistent/libgssapi_krb5.so.2');
  });

  it('koffi missing: KerberosNotAvailable (KoffiMissing)', () => {
    const err = (() => {
      try {
        kerberosAuth({ gssapi: { koffiModule: 'koffi-is-not-installed-here' } });
      } catch (e) {
        return e;
      }
    })();
    expect((err as GssUnavailableError).reason).toBe('KoffiMissing');
    expect((err as GssUnavailableError).message).toContain('koffi');
  });

  it('PSREMOTE_GSSAPI=off switches it off', () => {
    process.env.PSREMOTE_GSSAPI = 'off';
    try {
      expect(gssapiAvailable()).toBe(false);
    } finally {
      delete process.env.PSREMOTE_GSSAPI;
    }
  });

  it('Negotiate without the library and no credential: the missing library is the error', async () => {
    const auth = integratedAuthenticator({
      mechanism: 'Negotiate',
      endpoint: { computerName: SERVICE_HOST, host: SERVICE_HOST },
      gssapi: { library: '/nonexistent/libgssapi_krb5.so.2' },
    });
    const err = await Promise.resolve()
      .then(() =>
        auth.prepare({
          lane: 'operation',
          url: new URL(`http://${SERVICE_HOST}:5985/wsman`),
          body: new Uint8Array(0),
          attempt: 0,
        }),
      )
      .catch((e: unknown) => e);
    expect((err as GssUnavailableError).errorId).toBe('KerberosNotAvailable');
  });
});

describe.skipIf(skip !== undefined)('Negotiate without the library falls back to our NTLM', () => {
  const peers = withEndpoints({ ntlm: {} });

  it('with -Credential: NTLM (reason no-gssapi), sealed, works', async () => {
    const choices: NegotiateChoice[] = [];
    const auth = integratedAuthenticator({
      mechanism: 'Negotiate',
      credential: { userName: 'PSREMOTE\\psuser', reveal: () => 'Passw0rd!' },
      endpoint: { computerName: SERVICE_HOST, host: SERVICE_HOST },
      gssapi: { library: '/nonexistent/libgssapi_krb5.so.2' },
      onMechanism: (c) => choices.push(c),
    });
    const client = clientFor(peers.ntlm.url, auth);
    expectShellNotFound(await probe(client));
    await client.close();
    expect(choices).toEqual([{ mechanism: 'NTLM', reason: 'no-gssapi' }]);
    await peers.ntlm.waitForEvent(/^AUTH \d+ Negotiate PSREMOTE\\psuser /);
  });
});
