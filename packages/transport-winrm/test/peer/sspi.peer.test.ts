import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KerberosAuthError } from '../../src/auth/gssapi/gss-errors.ts';
import { integratedAuthenticator, kerberosStatus } from '../../src/auth/integrated-auth.ts';
import { type KerberosAuthOptions, kerberosAuth } from '../../src/auth/kerberos-auth.ts';
import { WsmanAuthError } from '../../src/auth/negotiate-auth.ts';
import type { NegotiateChoice } from '../../src/auth/negotiate-kerberos.ts';
import { SspiError } from '../../src/auth/sspi/sspi-errors.ts';
import type { WsmanAuthenticator } from '../../src/wsman/auth.ts';
import { type FakeSecur32, fakeSecur32 } from './fake-secur32.ts';
import { faketimeMissing, KDC_PASSWORD, KDC_USER, krb5Conf, REALM, SERVICE_HOST, startKdc } from './kdc.ts';
import {
  bindingAnotherCertificate,
  clientFor,
  expectShellNotFound,
  kerberosPeersSkipReason,
  probe,
  withKdcEndpoint,
} from './peers.ts';
import { outputs, PoolSession, recording } from './pool-session.ts';

/**
 * psremote's SSPI code (sspi-context.ts: AcquireCredentialsHandleW, the InitializeSecurityContextW loop,
 * EncryptMessage / DecryptMessage, the handle and buffer lifetimes, the status mapping) driven against the MIT KDC
 * and the test endpoint's MIT acceptor, with secur32 replaced by fake-secur32.ts: the SSPI contract implemented in
 * JavaScript on the real GSSAPI. Every token and sealed body is still checked by an implementation that is not ours;
 * what is NOT shown here is Windows' own SSPI (no Windows machine).
 */
const skip = kerberosPeersSkipReason();
const UPN = `${KDC_USER}@${REALM}`;
const BIG = 300_000;
const SEALED_KERBEROS =
  'multipart/encrypted;protocol="application/HTTP-Kerberos-session-encrypted";boundary="Encrypted Boundary"';
const SEALED_SPNEGO =
  'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"';

function sspiCause(e: unknown): SspiError {
  expect(e).toBeInstanceOf(KerberosAuthError);
  const cause = (e as KerberosAuthError).cause;
  expect(cause).toBeInstanceOf(SspiError);
  return cause as SspiError;
}

describe.skipIf(skip !== undefined)(
  'SSPI code over a GSSAPI-backed secur32 stand-in, MIT KDC, test endpoint',
  () => {
    const peers = withKdcEndpoint({
      endpoint: { https: true, auth: ['negotiate', 'kerberos', 'ntlm'] },
      restoreEnvAfterEach: true,
    });
    let fake: FakeSecur32;
    const sspi = (extra: Partial<KerberosAuthOptions> = {}): KerberosAuthOptions => ({
      username: UPN,
      password: KDC_PASSWORD,
      hostname: SERVICE_HOST,
      sspi: { functions: fake.functions },
      ...extra,
    });

    beforeAll(() => {
      fake = fakeSecur32();
    });

    it('the stand-in is what the factory picks when given, and it is SSPI', () => {
      const s = kerberosStatus({ sspi: { functions: fake.functions } });
      expect(s).toEqual({ available: true, library: 'secur32 (stand-in)' });
    });

    it('-Authentication Kerberos, explicit credential: CONTINUE_NEEDED then OK (mutual), a pool, 300 KB each way sealed with EncryptMessage; every handle and token freed', async () => {
      const from = fake.calls.length;
      const auth = kerberosAuth(sspi());
      const rec = recording(auth);
      const client = clientFor(peers.ep.url, rec.auth);
      const signal = AbortSignal.timeout(90_000);
      try {
        const s = new PoolSession(client);
        await s.open(signal);
        const big = outputs(await s.run(`'x' * ${BIG}`, signal)) as string[];
        expect(big[0]?.length).toBe(BIG);
        expect(/^x+$/.test(big[0] as string)).toBe(true);
        expect(outputs(await s.run(`'${'y'.repeat(BIG)}'.Length`, signal))).toEqual([BIG]);
        await client.delete({ shellId: s.shellId }, signal);
      } finally {
        await client.close();
        auth.dispose();
      }
      const calls = fake.calls.slice(from);
      // The identity went as Windows splits a UPN: whole in User, no Domain.
      expect(fake.identities).toContain(`${UPN}|`);
      // The request WinRM makes: MUTUAL | REPLAY | SEQUENCE | CONFIDENTIALITY | INTEGRITY | ALLOCATE_MEMORY.
      expect(calls).toContain('ISC req=0x1011e');
      // Kerberos with mutual authentication: the AP-REQ leg continues, the server's AP-REP completes it.
      const statuses = calls.filter((c) => c.startsWith('ISC -> '));
      expect(statuses.filter((c) => c === 'ISC -> 0x90312').length).toBeGreaterThanOrEqual(2); // one per lane
      expect(statuses.filter((c) => c === 'ISC -> 0x0').length).toBe(
        statuses.filter((c) => c === 'ISC -> 0x90312').length,
      );
      expect(calls).toContain('QueryContextAttributesW');
      expect(calls.filter((c) => c === 'EncryptMessage').length).toBeGreaterThan(5);
      expect(calls.filter((c) => c === 'DecryptMessage:token').length).toBeGreaterThan(5);
      expect(calls.filter((c) => c === 'FreeContextBuffer').length).toBeGreaterThanOrEqual(2);
      for (const ct of [...rec.sent, ...rec.received]) expect(ct).toBe(SEALED_KERBEROS);
      const auths = peers.ep.events.filter((l) => l.startsWith('AUTH ') && / Kerberos /.test(l));
      expect(auths.length).toBeGreaterThanOrEqual(2);
      for (const a of auths)
        expect(a).toMatch(
          /^AUTH \d+ Kerberos psuser@PSREMOTE\.TEST cbt=none target=HTTP\/wsman\.psremote\.test@PSREMOTE\.TEST mech=krb5$/,
        );
      expect(fake.live()).toEqual({ credentials: 0, contexts: 0, buffers: 0 });
    });

    it('WsmanClient.close alone frees every SSPI handle (the authenticator is disposed with it); a lane reset frees that lane’s context at once', async () => {
      const before = fake.live();
      const client = clientFor(peers.ep.url, kerberosAuth(sspi()));
      const signal = AbortSignal.timeout(60_000);
      const s = new PoolSession(client);
      try {
        await s.open(signal);
        expect(outputs(await s.run('6*7', signal))).toEqual([42]);
        const open = fake.live();
        // One context per lane (operation, receive), one shared credential.
        expect(open.contexts - before.contexts).toBeGreaterThanOrEqual(2);
        expect(open.credentials - before.credentials).toBe(1);
        // The receive lane's connection ends (as when the server closes it): its context goes now, not at collection.
        (client as unknown as { lanes: Map<string, { destroy(): Promise<void> }> }).lanes
          .get('receive')
          ?.destroy();
        await expect.poll(() => fake.live().contexts, { timeout: 5_000 }).toBe(open.contexts - 1);
        await client.delete({ shellId: s.shellId }, signal);
      } finally {
        await client.close();
      }
      expect(fake.live()).toEqual(before);
    });

    it('DecryptMessage with one SECBUFFER_STREAM (header ‖ data; SSPI finds the split) works too', async () => {
      const from = fake.calls.length;
      const auth = kerberosAuth(sspi({ sspi: { functions: fake.functions, decrypt: 'stream' } }));
      const client = clientFor(peers.ep.url, auth);
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
      const calls = fake.calls.slice(from);
      expect(calls.filter((c) => c === 'DecryptMessage:stream').length).toBeGreaterThan(2);
      expect(calls).not.toContain('DecryptMessage:token');
    });

    it('Negotiate with DOMAIN\\user: the SSPI Negotiate package (SPNEGO), Domain split off, sealed as SPNEGO', async () => {
      const choices: NegotiateChoice[] = [];
      const auth = integratedAuthenticator({
        mechanism: 'Negotiate',
        credential: { userName: `${REALM}\\${KDC_USER}`, reveal: () => KDC_PASSWORD },
        endpoint: { computerName: SERVICE_HOST, host: SERVICE_HOST },
        onMechanism: (c) => choices.push(c),
        sspi: { functions: fake.functions },
      });
      const rec = recording(auth);
      const client = clientFor(peers.ep.url, rec.auth);
      try {
        expectShellNotFound(await probe(client));
      } finally {
        await client.close();
        auth.dispose();
      }
      expect(choices).toEqual([{ mechanism: 'SSPI' }]);
      expect(fake.identities).toContain(`${KDC_USER}|${REALM}`);
      for (const ct of [...rec.sent, ...rec.received]) expect(ct).toBe(SEALED_SPNEGO);
      await peers.ep.waitForEvent(
        /^AUTH \d+ Negotiate psuser@PSREMOTE\.TEST cbt=none target=HTTP\/wsman\.psremote\.test@PSREMOTE\.TEST mech=krb5$/,
      );
    });

    it("no -Credential: the current user's tickets (pAuthData NULL), after kinit", async () => {
      const ccDir = mkdtempSync(join(tmpdir(), 'psremote-sspi-cc-'));
      try {
        const ccache = `FILE:${join(ccDir, 'cc')}`;
        peers.kdc.kinit(ccache);
        process.env.KRB5CCNAME = ccache;
        const before = fake.identities.length;
        const auth = integratedAuthenticator({
          mechanism: 'NegotiateWithImplicitCredential',
          endpoint: { computerName: SERVICE_HOST, host: SERVICE_HOST },
          sspi: { functions: fake.functions },
        });
        const client = clientFor(peers.ep.url, auth);
        try {
          expectShellNotFound(await probe(client));
        } finally {
          await client.close();
          auth.dispose();
        }
        expect(fake.identities.length).toBe(before); // no identity was passed
      } finally {
        rmSync(ccDir, { recursive: true, force: true });
      }
    });

    it('a wrong password: SEC_E_LOGON_DENIED at the first InitializeSecurityContextW, worded as WinRM, no NTLM', async () => {
      for (const mechanism of ['Kerberos', 'Negotiate'] as const) {
        const choices: NegotiateChoice[] = [];
        const auth = integratedAuthenticator({
          mechanism,
          credential: { userName: UPN, reveal: () => 'wrong' },
          endpoint: { computerName: SERVICE_HOST, host: SERVICE_HOST },
          onMechanism: (c) => choices.push(c),
          sspi: { functions: fake.functions },
        });
        const client = clientFor(peers.ep.url, auth);
        const err = await probe(client);
        await client.close();
        auth.dispose();
        const cause = sspiCause(err);
        expect(cause.status.call).toBe('InitializeSecurityContextW');
        expect(cause.status.code).toBe(0x8009030c);
        const k = err as KerberosAuthError;
        expect(k.failure).toBe('LogonDenied');
        expect(k.errorId).toBe('CreateRemoteRunspaceFailed');
        expect(k.newPSSessionErrorId).toBe('-2146893044,PSSessionOpenFailed');
        expect(k.message).toContain(
          `The following error with errorcode 0x8009030c occurred while using ${mechanism} authentication: The logon attempt failed`,
        );
        expect(k.message).not.toMatch(/\n\s+at /);
        if (mechanism === 'Negotiate') expect(choices).toEqual([{ mechanism: 'SSPI' }]);
      }
    });

    it('an unknown user: SEC_E_LOGON_DENIED too (SSPI does not tell the client which)', async () => {
      const client = clientFor(peers.ep.url, kerberosAuth(sspi({ username: `nobody@${REALM}` })));
      const err = await probe(client);
      await client.close();
      expect(sspiCause(err).status.code).toBe(0x8009030c);
      expect((err as KerberosAuthError).failure).toBe('LogonDenied');
    });

    it('the SPN is named as SSPI wants it: HTTP/host:port under IncludePortInSPN, WSMAN/host for service WSMAN', async () => {
      peers.kdc.addService(`HTTP/${SERVICE_HOST}:${peers.ep.port}`);
      const a = clientFor(peers.ep.url, kerberosAuth(sspi({ includePortInSpn: true })));
      expectShellNotFound(await probe(a));
      await a.close();
      await peers.ep.waitForEvent(
        new RegExp(
          `^AUTH \\d+ Kerberos psuser@PSREMOTE\\.TEST cbt=none target=HTTP/wsman\\.psremote\\.test:${peers.ep.port}@`,
        ),
      );
      const b = clientFor(peers.ep.url, kerberosAuth(sspi({ service: 'WSMAN' })));
      expectShellNotFound(await probe(b));
      await b.close();
      await peers.ep.waitForEvent(
        /^AUTH \d+ Kerberos psuser@PSREMOTE\.TEST cbt=none target=WSMAN\/wsman\.psremote\.test@/,
      );
    });

    it('an SPN the KDC does not know: SEC_E_TARGET_UNKNOWN (TargetUnknown)', async () => {
      const client = clientFor(peers.ep.url, kerberosAuth(sspi({ hostname: 'nosuch.psremote.test' })));
      const err = await probe(client);
      await client.close();
      expect(sspiCause(err).status.code).toBe(0x80090303);
      expect((err as KerberosAuthError).failure).toBe('TargetUnknown');
      expect((err as KerberosAuthError).transportErrorId).toBe('TargetUnknown');
    });

    it('a KDC that is down: SEC_E_NO_AUTHENTICATING_AUTHORITY at once', async () => {
      const down = await startKdc();
      await down.stop();
      const confPath = join(peers.dir, 'down.conf');
      writeFileSync(confPath, krb5Conf(down.port));
      process.env.KRB5_CONFIG = confPath;
      const t0 = performance.now();
      const client = clientFor(peers.ep.url, kerberosAuth(sspi()));
      const err = await probe(client);
      await client.close();
      expect(performance.now() - t0).toBeLessThan(15_000);
      expect(sspiCause(err).status.code).toBe(0x80090311);
      expect((err as KerberosAuthError).failure).toBe('KdcUnreachable');
      expect((err as KerberosAuthError).category).toBe('ConnectionError');
    });

    it('a KDC that never answers: the step is bounded by kdcTimeoutMs; the late call is cleaned up', async () => {
      const sockets = new Set<Socket>();
      const mute: Server = createServer((s) => {
        sockets.add(s);
        s.on('error', () => undefined);
      });
      await new Promise<void>((r) => mute.listen(0, '127.0.0.1', () => r()));
      // The stand-in's own wait (its GSSAPI calls) ends after 2 s: later than ours, so ours gives up first.
      const slow = fakeSecur32({ kdcTimeoutMs: 2000 });
      try {
        const confPath = join(peers.dir, 'mute.conf');
        writeFileSync(confPath, krb5Conf((mute.address() as { port: number }).port));
        process.env.KRB5_CONFIG = confPath;
        const t0 = performance.now();
        const auth = kerberosAuth(sspi({ kdcTimeoutMs: 800, sspi: { functions: slow.functions } }));
        const client = clientFor(peers.ep.url, auth);
        const err = await probe(client);
        await client.close();
        const took = performance.now() - t0;
        expect(took).toBeGreaterThanOrEqual(750);
        expect(took).toBeLessThan(1900);
        expect((err as KerberosAuthError).failure).toBe('KdcUnreachable');
        expect((err as KerberosAuthError).gss?.text).toBe('no answer from the KDC within 800 ms');
        auth.dispose();
        expect(slow.live().credentials).toBe(0);
        // The abandoned InitializeSecurityContextW returns later (the stand-in gives up after 2 s): whatever it
        // made is released then, by the late-call cleanup.
        const deadline = performance.now() + 4000;
        while (performance.now() < deadline && !slow.calls.some((c) => c.startsWith('ISC -> ')))
          await new Promise((r) => setTimeout(r, 100));
        expect(slow.calls.filter((c) => c.startsWith('ISC -> '))).toEqual(['ISC -> 0x80090311']);
        expect(slow.live()).toEqual({ credentials: 0, contexts: 0, buffers: 0 });
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => mute.close(() => r()));
      }
    });

    it('HTTPS: SEC_CHANNEL_BINDINGS carries tls-server-end-point; another certificate’s binding is refused', async () => {
      const rec = recording(kerberosAuth(sspi()));
      const client = clientFor(peers.ep.httpsUrl as string, rec.auth, peers.ep.caPem);
      try {
        expectShellNotFound(await probe(client));
      } finally {
        await client.close();
      }
      await peers.ep.waitForEvent(
        /^AUTH \d+ Kerberos psuser@PSREMOTE\.TEST cbt=ok target=HTTP\/wsman\.psremote\.test@/,
      );
      for (const ct of [...rec.sent, ...rec.received]) expect(ct).toMatch(/^application\/soap\+xml/);

      const inner = kerberosAuth(sspi({ scheme: 'Negotiate' }));
      const lying = bindingAnotherCertificate(inner);
      const c2 = clientFor(peers.ep.httpsUrl as string, lying, peers.ep.caPem);
      const err = await probe(c2);
      await c2.close();
      expect(err).toBeInstanceOf(WsmanAuthError);
      expect((err as WsmanAuthError).status).toBe(401);
      await peers.ep.waitForEvent(/^AUTHFAIL \d+ Negotiate BadChannelBindingsError$/);
    });

    it('a tampered AP-REP: the last InitializeSecurityContextW fails, the server is not trusted (mutual authentication)', async () => {
      const inner = kerberosAuth(sspi());
      const tampering: WsmanAuthenticator = {
        ...inner,
        challenge: (res) => inner.challenge?.(res) ?? false,
        unwrap: (res) => {
          const h = res.headers['www-authenticate'];
          const value = Array.isArray(h) ? h[0] : h;
          const m = typeof value === 'string' ? /^Kerberos (.+)$/.exec(value) : null;
          if (m) {
            const token = Buffer.from(m[1] as string, 'base64');
            token.writeUInt8(token.readUInt8(token.length - 5) ^ 0xff, token.length - 5); // inside the AP-REP's ciphertext
            res = {
              ...res,
              headers: { ...res.headers, 'www-authenticate': `Kerberos ${token.toString('base64')}` },
            };
          }
          return inner.unwrap ? inner.unwrap(res) : res.body;
        },
      };
      const client = clientFor(peers.ep.httpsUrl as string, tampering, peers.ep.caPem);
      const err = await probe(client);
      await client.close();
      expect(err).toBeInstanceOf(KerberosAuthError);
      expect(sspiCause(err).status.call).toBe('InitializeSecurityContextW');
      expect(sspiCause(err).status.code).toBe(0x80090363);
      expect((err as KerberosAuthError).failure).toBe('MutualAuthFailed');
      expect((err as KerberosAuthError).message).toContain(
        'errorcode 0x80090363 occurred while using Kerberos authentication: The identity of the server computer could not be verified.',
      );
    });

    it.skipIf(faketimeMissing() !== undefined)(
      'a KDC whose clock is 2 hours off: SEC_E_TIME_SKEW',
      async () => {
        const skewed = await startKdc({ faketime: '+2h', clientExtra: '  kdc_timesync = 0\n' });
        try {
          process.env.KRB5_CONFIG = skewed.krb5Config;
          const client = clientFor(peers.ep.url, kerberosAuth(sspi()));
          const err = await probe(client);
          await client.close();
          expect(sspiCause(err).status.code).toBe(0x80090324);
          expect((err as KerberosAuthError).failure).toBe('ClockSkew');
          expect((err as KerberosAuthError).message).toContain(
            'The clocks on the client and server machines are skewed.',
          );
        } finally {
          await skewed.stop();
        }
      },
    );
  },
);
