import { createHash } from 'node:crypto';
import {
  type BoundValue,
  isPSRemotingError,
  openSession,
  type PSSession,
  RecordingHostUi,
} from '@psremote/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createWinrmTransport } from '../../src/winrm-transport.ts';
import { endpointSkipReason } from './endpoint.ts';
import { openFailure, recordingAuthenticatorFor, withEndpoints } from './peers.ts';

/**
 * `-Authentication Credssp` through the whole WinRM transport against wsman_endpoint.py's CredSSP acceptor
 * (credssp_acceptor.py): its TLS is Python's ssl (OpenSSL), its NTLM gss-ntlmssp through MIT GSSAPI, so neither
 * side of the proof is our code. The acceptor logs the credential it decrypted from TSCredentials.
 */
const skip = endpointSkipReason();
const USER = 'PSREMOTE\\psuser';
const PASSWORD = 'Passw0rd!';
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

const { factory: recordingFactory, sentTypes } = recordingAuthenticatorFor();

describe.skipIf(skip)('WinRM with -Authentication Credssp against the Python CredSSP acceptor', () => {
  const eps = withEndpoints({
    v6: { auth: ['credssp'], https: true },
    v2: { auth: ['credssp'], credsspVersion: 2 },
    v3: { auth: ['credssp'], credsspVersion: 3 },
    v4: { auth: ['credssp'], credsspVersion: 4 },
    v5: { auth: ['credssp'], credsspVersion: 5 },
    tampered: { auth: ['credssp'], credsspTamper: 'server' },
    relayed: { auth: ['credssp'], credsspTamper: 'client' },
  });
  const older = (version: number) => eps[`v${version}` as 'v2' | 'v3' | 'v4' | 'v5'];
  let transport: ReturnType<typeof createWinrmTransport>;

  beforeAll(() => {
    transport = createWinrmTransport({
      authenticatorFor: recordingFactory,
      ...(eps.v6.caPem ? { ca: eps.v6.caPem } : {}),
    });
  });

  function open(
    port: number,
    bound: Record<string, BoundValue> = {},
    password = PASSWORD,
    userName = USER,
    oracle?: string,
  ): Promise<PSSession> {
    return openSession({
      transport,
      bound: {
        parameterSet: 'ComputerName',
        bound: {
          ComputerName: '127.0.0.1',
          Port: port,
          Authentication: 'Credssp',
          Credential: { userName, password },
          ...bound,
        },
      },
      hostUi: new RecordingHostUi(),
      env: { LANG: 'en_US.UTF-8', ...(oracle ? { PSREMOTE_CREDSSP_ENCRYPTION_ORACLE: oracle } : {}) },
    });
  }

  it('version 6 (the nonce/hash binding): delegates the credential, every body CredSSP-encrypted, 1 MB+ both ways', async () => {
    sentTypes.length = 0;
    const s = await open(eps.v6.port);
    try {
      expect((await s.invoke('1+1').result()).output).toEqual([2]);
      const big = 'c'.repeat(1_100_000);
      const r = await s.invoke('$input | ForEach-Object { $_.Length; $_ + "!" }', { input: [big] }).result();
      expect(r.output[0]).toBe(1_100_000);
      expect(r.output[1]).toBe(`${big}!`);
    } finally {
      await s.close();
    }
    const auth = await eps.v6.waitForEvent(/^AUTH \d+ CredSSP /);
    expect(auth).toMatch(/ version=6$/);
    expect(auth.toLowerCase()).toContain('psuser');
    const delegated = await eps.v6.waitForEvent(/^CREDSSP /);
    expect(delegated).toContain(`PSREMOTE\\psuser pw-sha256=${sha256(PASSWORD)} valid=yes`);
    expect(sentTypes.length).toBeGreaterThan(5);
    for (const t of sentTypes) expect(t).toMatch(/protocol="application\/HTTP-CredSSP-session-encrypted"/);
    // The 1 MB input went in 16 KiB parts.
    expect(sentTypes.some((t) => t.startsWith('multipart/x-multi-encrypted;'))).toBe(true);
  }, 120_000);

  it.each([2, 3, 4])(
    'by default (Mitigated) an acceptor speaking version %i is refused before any credential is sealed',
    async (version) => {
      const ep = older(version);
      const e = await openFailure(open(ep.port));
      expect(isPSRemotingError(e)).toBe(true);
      expect(e.fullyQualifiedErrorId).toBe(
        'CredSSPEncryptionOracleRemediation,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
      );
      expect(e.message).toContain(`CredSSP version ${version}`);
      expect(e.recommendedAction).toContain('PSREMOTE_CREDSSP_ENCRYPTION_ORACLE=Vulnerable');
      // Refused on the server's first TSRequest: no binding, no logon, no delegation reached the acceptor.
      expect(ep.events.filter((l) => /^(AUTH \d+ CredSSP|CREDSSP) /.test(l))).toEqual([]);
      // ForceUpdatedClients refuses it alike.
      const forced = await openFailure(open(ep.port, {}, PASSWORD, USER, 'ForceUpdatedClients'));
      expect(forced.errorId).toBe('CredSSPEncryptionOracleRemediation');
    },
    60_000,
  );

  it.each([
    [2, 'the old binding: the key, and the key plus one back', USER, 'Vulnerable'],
    [3, 'the old binding, with errorCode; the registry number', USER, '2'],
    [5, 'the nonce/hash binding; a UPN, delegated whole with no domain', 'psuser@psremote.test', undefined],
  ])(
    'an acceptor speaking version %i (%s): opens, and both sides used that version',
    async (version, _what, userName, oracle) => {
      const ep = older(version);
      const s = await open(ep.port, {}, PASSWORD, userName, oracle);
      try {
        expect((await s.invoke(`"v${version}"`).result()).output).toEqual([`v${version}`]);
      } finally {
        await s.close();
      }
      expect(await ep.waitForEvent(/^AUTH \d+ CredSSP /)).toMatch(new RegExp(` version=${version}$`));
      expect((await ep.waitForEvent(/^CREDSSP /)).replace(/^CREDSSP \d+ /, '')).toBe(
        `${userName} pw-sha256=${sha256(PASSWORD)} valid=yes`,
      );
    },
    60_000,
  );

  it('over HTTPS: CredSSP inside the outer TLS, bodies not encrypted again', async () => {
    sentTypes.length = 0;
    const delegations = () => eps.v6.events.filter((l) => l.startsWith('CREDSSP ')).length;
    const before = delegations();
    const s = await open(eps.v6.httpsPort ?? 0, { UseSSL: true });
    try {
      expect((await s.invoke('"tls"').result()).output).toEqual(['tls']);
    } finally {
      await s.close();
    }
    expect(sentTypes.length).toBeGreaterThan(2);
    for (const t of sentTypes) expect(t).not.toMatch(/multipart/);
    expect(delegations()).toBeGreaterThan(before);
  }, 60_000);

  it('a wrong password: "Access is denied." with the NTSTATUS the acceptor sent, no password in it', async () => {
    const e = await openFailure(open(eps.v6.port, {}, 'wrong-password'));
    expect(isPSRemotingError(e)).toBe(true);
    expect(e.message).toContain('Access is denied.');
    // PowerShell shows WinRM's words only; the acceptor's NTSTATUS (TSRequest.errorCode) is kept in the causes.
    const causes: string[] = [];
    for (let c: unknown = e.cause; c instanceof Error; c = c.cause) causes.push(c.message);
    expect(causes.join(' | ')).toContain('NTSTATUS 0xC000006D (STATUS_LOGON_FAILURE)');
    expect(e.message).not.toContain('wrong-password');
    expect(await eps.v6.waitForEvent(/^AUTHFAIL \d+ CredSSP logon:/)).toBeTruthy();
  }, 60_000);

  it("a pubKeyAuth that does not match the server's key is refused before the password goes out", async () => {
    const e = await openFailure(open(eps.tampered.port));
    expect(isPSRemotingError(e)).toBe(true);
    expect(e.fullyQualifiedErrorId).toBe(
      'WinRMMessageIntegrity,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
    );
    expect(e.message).toMatch(/public-key binding/);
    expect(eps.tampered.events.some((l) => l.startsWith('CREDSSP '))).toBe(false);
  }, 60_000);

  it('the acceptor refuses a client whose binding names another key (a relay in the middle): no delegation', async () => {
    const e = await openFailure(open(eps.relayed.port));
    expect(isPSRemotingError(e)).toBe(true);
    expect(e.message).toContain('Access is denied.');
    expect(await eps.relayed.waitForEvent(/^AUTHFAIL \d+ CredSSP pubKeyAuth:mismatch$/)).toBeTruthy();
    expect(eps.relayed.events.some((l) => l.startsWith('CREDSSP '))).toBe(false);
  }, 60_000);

  it('-Authentication Credssp without -Credential is refused before connecting, in WinRM words', async () => {
    const e = await openFailure(
      openSession({
        transport,
        bound: {
          parameterSet: 'ComputerName',
          bound: { ComputerName: '127.0.0.1', Port: eps.v6.port, Authentication: 'Credssp' },
        },
        hostUi: new RecordingHostUi(),
      }),
    );
    expect(e.message).toContain('Requests must include user name and password when CredSSP');
    expect(eps.v6.events.filter((l) => l.startsWith('AUTHFAIL')).length).toBe(1);
  }, 30_000);
});
