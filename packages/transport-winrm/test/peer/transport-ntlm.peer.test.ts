import {
  type BoundValue,
  isPSRemotingError,
  openSession,
  type PSSession,
  RecordingHostUi,
} from '@psremote/core';
import { transportConformanceChecks } from '@psremote/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createWinrmTransport } from '../../src/winrm-transport.ts';
import { endpointSkipReason } from './endpoint.ts';
import { openFailure, recordingAuthenticatorFor, withEndpoints } from './peers.ts';

/**
 * The whole WinRM transport (the kernel's session, WinrmConnection, WsmanClient, NTLM in SPNEGO with MS-WSMV
 * sealing) against wsman_endpoint.py, whose authentication and encryption are gss-ntlmssp's through MIT GSSAPI and
 * whose shells are real `pwsh -s`: `-Authentication Default -Credential PSREMOTE\psuser` as a user types it.
 */
const skip = endpointSkipReason();
const USER = 'PSREMOTE\\psuser';
const PASSWORD = 'Passw0rd!';

/** Records the Content-Type of every non-empty body the transport sends (to prove what went sealed). */
const { factory: recordingFactory, sentTypes } = recordingAuthenticatorFor();

describe.skipIf(skip)('WinRM transport with NTLM (Negotiate) against the gss-ntlmssp endpoint', () => {
  const eps = withEndpoints({ http: {}, https: { https: true, httpsOnly: true, requireCbt: true } });
  let transport: ReturnType<typeof createWinrmTransport>;

  beforeAll(() => {
    transport = createWinrmTransport({
      authenticatorFor: recordingFactory,
      ...(eps.https.caPem ? { ca: eps.https.caPem } : {}),
    });
  });

  function open(bound: Record<string, BoundValue>, password = PASSWORD): Promise<PSSession> {
    return openSession({
      transport,
      bound: {
        parameterSet: 'ComputerName',
        bound: { ComputerName: '127.0.0.1', Credential: { userName: USER, password }, ...bound },
      },
      hostUi: new RecordingHostUi(),
      env: { LANG: 'en_US.UTF-8' },
    });
  }

  it('Default authentication over HTTP: every body sealed both ways, 1+1 and a 1 MB round trip', async () => {
    sentTypes.length = 0;
    const s = await open({ Port: eps.http.port });
    try {
      expect(s.state).toBe('Opened');
      expect(s.computerName).toBe('127.0.0.1');
      expect((await s.invoke('1+1').result()).output).toEqual([2]);
      const big = 'y'.repeat(1_100_000);
      const r = await s.invoke('$input | ForEach-Object { $_.Length; $_ }', { input: [big] }).result();
      expect(r.output[0]).toBe(1_100_000);
      expect(r.output[1]).toBe(big);
    } finally {
      await s.close();
    }
    expect(sentTypes.length).toBeGreaterThan(5);
    for (const t of sentTypes) expect(t).toMatch(/^multipart\/encrypted;/);
  }, 120_000);

  it('a wrong password: PowerShell\'s "Access is denied." at open, no password in the error', async () => {
    const e = await openFailure(open({ Port: eps.http.port }, 'wrong-password'));
    expect(isPSRemotingError(e)).toBe(true);
    expect(e.message).toContain(
      'Connecting to remote server 127.0.0.1 failed with the following error message',
    );
    expect(e.message).toContain('Access is denied.');
    expect(e.message).not.toContain('wrong-password');
  }, 60_000);

  it('HTTPS with Extended Protection (channel binding required): opens with the test CA trusted', async () => {
    sentTypes.length = 0;
    const s = await open({ Port: eps.https.httpsPort ?? 0, UseSSL: true });
    try {
      expect((await s.invoke('"tls"').result()).output).toEqual(['tls']);
    } finally {
      await s.close();
    }
    // Over HTTPS TLS protects the bodies: never sealed.
    for (const t of sentTypes) expect(t).not.toMatch(/multipart\/encrypted/);
  }, 60_000);

  it('HTTPS refused when the certificate is not trusted; accepted with SkipCACheck and SkipCNCheck', async () => {
    const plain = createWinrmTransport();
    const bound = {
      parameterSet: 'ComputerName' as const,
      bound: {
        ComputerName: '127.0.0.1',
        Port: eps.https.httpsPort ?? 0,
        UseSSL: true,
        Credential: { userName: USER, password: PASSWORD },
      },
    };
    const e = await openFailure(openSession({ transport: plain, bound, hostUi: new RecordingHostUi() }));
    expect(isPSRemotingError(e)).toBe(true);
    expect(e.message).toMatch(/certificate/i);
    const s = await openSession({
      transport: plain,
      bound: {
        ...bound,
        bound: { ...bound.bound, SessionOption: { SkipCACheck: 'True', SkipCNCheck: 'True' } },
      },
      hostUi: new RecordingHostUi(),
    });
    try {
      expect((await s.invoke('2+2').result()).output).toEqual([4]);
    } finally {
      await s.close();
    }
  }, 60_000);

  describe('the conformance kit over NTLM with sealing', () => {
    const checks = transportConformanceChecks({
      open: () => open({ Port: eps.http.port }),
      kills: {
        'the remote pwsh is killed': (_s, pid) => {
          process.kill(pid, 'SIGKILL');
        },
      },
      withinMs: 3000,
    });
    for (const c of checks) it(c.name, c.run, 120_000);
  });
});
