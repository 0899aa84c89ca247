import { join } from 'node:path';
import {
  type BoundValue,
  isPSRemotingError,
  openSession,
  type PSSession,
  RecordingHostUi,
} from '@psremote/core';
import { describe, expect, it } from 'vitest';
import { createWinrmTransport } from '../../src/winrm-transport.ts';
import { KDC_PASSWORD, KDC_USER, REALM } from './kdc.ts';
import { kerberosHost, kerberosHostSkipReason } from './kerberos-host.ts';
import { kerberosPeersSkipReason, openFailure, recordingAuthenticatorFor, withKdcEndpoint } from './peers.ts';

/**
 * Kerberos through the whole WinRM transport (openSession, WinrmConnection, WsmanClient, authenticatorFor with the
 * platform GSSAPI) as a user types it: `-ComputerName <this machine's name>`, the SPN `HTTP/<name>` in the test KDC,
 * the endpoint on the loopback address the name resolves to. kerberos.peer.test.ts checks the authenticators one by
 * one with a `hostname` override; this checks that the transport forms the SPN, the credential and the sealing
 * itself.
 */
const host = await kerberosHost();
const skip = kerberosPeersSkipReason() ?? kerberosHostSkipReason(host);
const NAME = typeof host === 'string' ? '' : host.name;
const UPN = `${KDC_USER}@${REALM}`;
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Records the Content-Type of every body the transport sends. */
const { factory: recordingFactory, sentTypes } = recordingAuthenticatorFor();

describe.skipIf(skip !== undefined)('Kerberos through the WinRM transport to this machine by name', () => {
  const transport = createWinrmTransport({ authenticatorFor: recordingFactory });
  // No ticket cache at all unless a test makes one.
  const peers = withKdcEndpoint({
    services: [`HTTP/${NAME}`],
    endpoint: {
      host: typeof host === 'string' ? '127.0.0.1' : host.address,
      auth: ['negotiate', 'kerberos', 'ntlm', 'basic'],
    },
  });

  function open(bound: Record<string, BoundValue>): Promise<PSSession> {
    return openSession({
      transport,
      bound: { parameterSet: 'ComputerName', bound: { ComputerName: NAME, Port: peers.ep.port, ...bound } },
      hostUi: new RecordingHostUi(),
      env: { LANG: 'en_US.UTF-8' },
    });
  }

  it('-Authentication Kerberos -Credential user@REALM: no ticket cache, SPN HTTP/<name>, every body sealed', async () => {
    sentTypes.length = 0;
    const before = peers.ep.events.length;
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
    const auths = peers.ep.events.slice(before).filter((l) => l.startsWith('AUTH '));
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
    const ccache = `FILE:${join(peers.dir, 'cc')}`;
    peers.kdc.kinit(ccache);
    process.env.KRB5CCNAME = ccache;
    sentTypes.length = 0;
    const before = peers.ep.events.length;
    try {
      const s = await open({});
      try {
        expect((await s.invoke('"kerberos:" + (1+1)').result()).output).toEqual(['kerberos:2']);
      } finally {
        await s.close();
      }
    } finally {
      process.env.KRB5CCNAME = `FILE:${peers.noCcache}`;
    }
    const auths = peers.ep.events.slice(before).filter((l) => l.startsWith('AUTH '));
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
    const before = peers.ep.events.length;
    const e = await openFailure(open({}));
    expect(isPSRemotingError(e)).toBe(true);
    expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(e.message).toMatch(
      new RegExp(`^Connecting to remote server ${reEscape(NAME)} failed with the following error message : `),
    );
    expect(e.message).toContain('0x8009030e');
    expect(peers.ep.events.slice(before).filter((l) => l.startsWith('AUTH '))).toEqual([]);
  }, 30_000);
});
