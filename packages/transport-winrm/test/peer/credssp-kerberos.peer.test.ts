import { describe, expect, it } from 'vitest';
import { credsspAuth } from '../../src/auth/credssp/credssp-auth.ts';
import { endpointFromConnectionUri } from '../../src/url/wsman-endpoint.ts';
import { WsmanClient } from '../../src/wsman/client.ts';
import { KDC_PASSWORD, KDC_USER, REALM, SERVICE_HOST } from './kdc.ts';
import { kerberosPeersSkipReason, withKdcEndpoint } from './peers.ts';
import { outputs, PoolSession, recording } from './pool-session.ts';

/**
 * Kerberos inside CredSSP: SPNEGO through the platform GSSAPI (koffi -> MIT) against a throwaway MIT KDC and the
 * endpoint's CredSSP acceptor, whose SPNEGO is MIT GSSAPI with the KDC's keytab. The SPN host is SERVICE_HOST (the
 * endpoint listens on 127.0.0.1, for which Windows never tries Kerberos).
 */
const skip = kerberosPeersSkipReason();

describe.skipIf(skip !== undefined)('CredSSP with Kerberos inside, against an MIT KDC', () => {
  const peers = withKdcEndpoint({ endpoint: { auth: ['credssp'] } });

  const client = (inner: 'auto' | 'kerberos', password = KDC_PASSWORD, hostname = SERVICE_HOST) => {
    const rec = recording(credsspAuth({ username: `${KDC_USER}@${REALM}`, password, hostname, inner }));
    const c = new WsmanClient({
      endpoint: endpointFromConnectionUri({ connectionUri: peers.ep.url }),
      auth: rec.auth,
      receiveTimeoutSeconds: 10,
    });
    return { c, rec };
  };

  it('delegates the password after a Kerberos logon; a pool runs, every body CredSSP-encrypted', async () => {
    const { c, rec } = client('auto');
    const signal = AbortSignal.timeout(60_000);
    try {
      const s = new PoolSession(c);
      await s.open(signal);
      expect(outputs(await s.run(`'k' * 40000`, signal))).toEqual(['k'.repeat(40_000)]);
      await c.delete({ shellId: s.shellId }, signal);
    } finally {
      await c.close();
    }
    const auth = await peers.ep.waitForEvent(/^AUTH \d+ CredSSP /);
    expect(auth).toMatch(new RegExp(`^AUTH \\d+ CredSSP ${KDC_USER}@${REALM} cbt=none target=- version=6$`));
    expect(await peers.ep.waitForEvent(/^CREDSSP /)).toMatch(new RegExp(` ${KDC_USER}@${REALM} pw-sha256=`));
    expect(rec.sent.length).toBeGreaterThan(2);
    for (const t of rec.sent) expect(t).toContain('protocol="application/HTTP-CredSSP-session-encrypted"');
  }, 90_000);

  it('a wrong password is refused by the KDC before anything reaches the server', async () => {
    const before = peers.ep.events.length;
    const { c } = client('kerberos', 'not-the-password');
    try {
      const e = await c
        .receive({ shellId: '00000000-0000-0000-0000-000000000000' }, AbortSignal.timeout(20_000))
        .catch((x: unknown) => x as Error);
      expect(e).toBeInstanceOf(Error);
      expect((e as Error).message).toMatch(/user name or password is incorrect/i);
    } finally {
      await c.close();
    }
    expect(peers.ep.events.slice(before).some((l) => l.startsWith('CREDSSP '))).toBe(false);
  }, 60_000);

  it('an SPN the KDC does not know: `auto` falls back to NTLM inside CredSSP, as Negotiate does', async () => {
    const before = peers.ep.events.length;
    const { c } = client('auto', KDC_PASSWORD, 'nowhere.psremote.test');
    try {
      const e = await c
        .receive({ shellId: '00000000-0000-0000-0000-000000000000' }, AbortSignal.timeout(20_000))
        .catch((x: unknown) => x);
      // Authenticated: WS-Management's own answer for a shell that does not exist.
      expect((e as { info?: { wsmanCode?: number } }).info?.wsmanCode).toBe(2150858843);
    } finally {
      await c.close();
    }
    // gss-ntlmssp names an NTLM logon `<domain>\\<user>` (an empty domain, then the UPN): NTLM, not Kerberos.
    const fresh = peers.ep.events.slice(before);
    expect(fresh.find((l) => l.startsWith('AUTH '))).toMatch(/^AUTH \d+ CredSSP \\psuser@PSREMOTE\.TEST /);
    expect(fresh.find((l) => l.startsWith('CREDSSP '))).toMatch(/ valid=yes$/);
  }, 60_000);
});
