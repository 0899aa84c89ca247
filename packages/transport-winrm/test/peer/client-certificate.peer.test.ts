import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BoundValue, openSession, type PSSession, RecordingHostUi } from '@psremote/core';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTPS_MUTUAL_PROFILE } from '../../src/auth/certificate-auth.ts';
import { createWinrmTransport } from '../../src/winrm-transport.ts';
import { endpointSkipReason, type StartedEndpoint, startWsmanEndpoint } from './endpoint.ts';
import { CLIENT_CERTS, certificateFailureOf, remotingFailure } from './peers.ts';

/**
 * -CertificateThumbprint through the whole WinRM transport (the kernel's session, WinrmConnection, WsmanClient with
 * the certificate in its TLS options) against wsman_endpoint.py with client_cert.py: Python's ssl checks the
 * certificate (CERT_REQUIRED against the test CA) and maps it to a local user by its UPN and issuer, as WinRM's
 * ClientCertificate table does. The certificates are the fixtures in test/fixtures/client-certs.
 */
const skip = endpointSkipReason();
const {
  dir: FIXTURES,
  caFile: CA_FILE,
  caThumbprint: CA_THUMBPRINT,
  psuser: PSUSER,
  nobody: NOBODY,
  locked: LOCKED,
} = CLIENT_CERTS;
const STRANGER = 'DC49F6B2347FBCBA40263522DB3A5FEC24E9B0BB';

function certDir(files: ReadonlyArray<[string, number]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'psremote-certs-'));
  for (const [name, mode] of files) {
    copyFileSync(join(FIXTURES, name), join(dir, name));
    chmodSync(join(dir, name), mode);
  }
  return dir;
}

const failure = remotingFailure;
const failureOf = certificateFailureOf;

describe.skipIf(skip)('-CertificateThumbprint against the endpoint with client certificates mapped', () => {
  let ep: StartedEndpoint;
  let transport: ReturnType<typeof createWinrmTransport>;
  let dir: string;
  let openDir: string;

  beforeAll(async () => {
    ep = await startWsmanEndpoint({
      httpsOnly: true,
      clientCertificates: {
        caFile: CA_FILE,
        // CERT_OPTIONAL here (a presented certificate is still verified), so a request without one reaches HTTP;
        // the CLI test runs the endpoint with CERT_REQUIRED.
        mode: 'optional',
        // WinRM's mapping entry: Subject (the UPN), Issuer (the CA's thumbprint), the local account.
        map: [`psuser@psremote.test ${CA_THUMBPRINT} psuser`],
      },
    });
    transport = createWinrmTransport({ ...(ep.caPem ? { ca: ep.caPem } : {}) });
    dir = certDir([
      ['ca.pem', 0o644],
      ['psuser.pem', 0o600],
      ['nobody.pem', 0o644],
      ['nobody.key', 0o600],
      ['locked.pem', 0o644],
      ['locked.key', 0o600],
      ['stranger.pem', 0o600],
    ]);
    openDir = certDir([['psuser.pem', 0o644]]);
  }, 60_000);
  afterAll(async () => {
    await ep?.stop();
    for (const d of [dir, openDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  function open(
    bound: Record<string, BoundValue>,
    hostUi = new RecordingHostUi(),
    certs = dir,
  ): Promise<PSSession> {
    return openSession({
      transport,
      bound: {
        parameterSet: 'ComputerName',
        bound: { ComputerName: '127.0.0.1', Port: ep.httpsPort ?? 0, UseSSL: true, ...bound },
      },
      hostUi,
      env: { LANG: 'en_US.UTF-8', PSREMOTE_CERT_DIR: certs },
    });
  }

  it('found: the certificate in the handshake, mapped to psuser by the endpoint, a pipeline runs', async () => {
    const before = ep.events.length;
    const s = await open({ CertificateThumbprint: PSUSER.toLowerCase() });
    try {
      expect(s.state).toBe('Opened');
      expect((await s.invoke('1+1').result()).output).toEqual([2]);
      const r = await s.invoke('"$($PSVersionTable.PSEdition):" + (40+2)').result();
      expect(r.output).toEqual(['Core:42']);
    } finally {
      await s.close();
    }
    const auths = ep.events.slice(before).filter((l) => l.startsWith('AUTH '));
    // The operation lane and the receive lane each authenticated with the certificate.
    expect(auths.length).toBeGreaterThanOrEqual(2);
    for (const a of auths)
      expect(a).toBe(
        `AUTH ${a.split(' ')[1]} Certificate psuser cbt=none target=- subject=psuser@psremote.test issuer=${CA_THUMBPRINT} thumbprint=${PSUSER}`,
      );
  }, 60_000);

  it('an encrypted key: the passphrase asked through the host (masked), then it works; a wrong one is refused', async () => {
    const ui = new RecordingHostUi({ answers: ['fixture-passphrase'] });
    const s = await open({ CertificateThumbprint: LOCKED }, ui);
    try {
      expect((await s.invoke('2+3').result()).output).toEqual([5]);
    } finally {
      await s.close();
    }
    expect(ui.records).toContainEqual({ kind: 'ask', member: 'ReadLineAsSecureString' });
    expect(ui.records).toContainEqual({
      kind: 'write',
      text: `Enter the passphrase for the private key in ${join(dir, 'locked.key')}: `,
    });
    expect(ep.events.some((l) => l.includes(`thumbprint=${LOCKED}`) && l.startsWith('AUTH '))).toBe(true);
    const e = await failure(
      open({ CertificateThumbprint: LOCKED }, new RecordingHostUi({ answers: ['nope'] })),
    );
    expect(failureOf(e)).toBe('WrongPassphrase');
    expect(e.message).toContain(`The passphrase for the private key in ${join(dir, 'locked.key')} is wrong.`);
    // Nobody to ask (no terminal): refused clearly, not hung.
    const n = await failure(open({ CertificateThumbprint: LOCKED }));
    expect(failureOf(n)).toBe('PassphraseUnavailable');
  }, 60_000);

  it('not found: a PowerShell-style error naming the directory; nothing was sent', async () => {
    const before = ep.events.length;
    const e = await failure(open({ CertificateThumbprint: '00'.repeat(20) }));
    expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(e.fullyQualifiedErrorId).toBe(
      'CreateRemoteRunspaceFailed,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
    );
    expect(failureOf(e)).toBe('NotFound');
    expect(e.message).toBe(
      `Connecting to remote server 127.0.0.1 failed with the following error message : No certificate with thumbprint ${'00'.repeat(20)} was found in ${dir} (5 certificates in its *.pem, *.crt and *.cer files). Put the certificate and its key there as PEM files, or set PSREMOTE_CERT_DIR. For more information, see the about_Remote_Troubleshooting Help topic.`,
    );
    expect(ep.events.slice(before)).toEqual([]);
  });

  it('a thumbprint that is not one: refused before anything is looked up or sent', async () => {
    const e = await failure(open({ CertificateThumbprint: 'psuser' }));
    expect(failureOf(e)).toBe('BadThumbprint');
    expect(e.message).toContain(
      'The certificate thumbprint "psuser" is not valid: a thumbprint is the certificate\'s SHA-1 hash, 40 hexadecimal digits (spaces allowed).',
    );
  });

  it('a trusted certificate no entry maps: 401 from the endpoint, PowerShell\'s "Access is denied."', async () => {
    const before = ep.events.length;
    const e = await failure(open({ CertificateThumbprint: NOBODY }));
    expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(e.message).toBe(
      'Connecting to remote server 127.0.0.1 failed with the following error message : Access is denied. For more information, see the about_Remote_Troubleshooting Help topic.',
    );
    const refused = ep.events.slice(before).filter((l) => l.startsWith('AUTHFAIL '));
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused[0]).toMatch(
      new RegExp(
        `^AUTHFAIL \\d+ Certificate 401 no mapping for subject=nobody@psremote\\.test issuer=${CA_THUMBPRINT} thumbprint=${NOBODY}$`,
      ),
    );
    expect(ep.events.slice(before).some((l) => l.startsWith('AUTH '))).toBe(false);
  }, 30_000);

  it('a certificate no trusted CA issued: the TLS handshake is refused (CERT_REQUIRED), the session does not open', async () => {
    const before = ep.events.length;
    const e = await failure(open({ CertificateThumbprint: STRANGER }));
    // TLS 1.3: the server checks the certificate after the client's half of the handshake and drops the
    // connection; the client sees the socket close (the generic cannot-connect text, as for a dead listener).
    expect((e.cause as { kind?: string }).kind).toBe('transport');
    expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(e.message).toMatch(
      /^Connecting to remote server 127\.0\.0\.1 failed with the following error message : /,
    );
    expect(ep.events.slice(before).some((l) => l.startsWith('AUTH'))).toBe(false);
  }, 30_000);

  it('the endpoint: the profile without a certificate gets 403, no Authorization at all 401', async () => {
    const client = new Client(ep.httpsUrl?.replace(/\/wsman$/, '') ?? '', {
      connect: { ca: ep.caPem ?? '', checkServerIdentity: () => undefined },
    });
    try {
      const post = async (headers: Record<string, string>) => {
        const r = await client.request({ path: '/wsman', method: 'POST', headers, body: '<x/>' });
        await r.body.text();
        return r.statusCode;
      };
      const soap = { 'content-type': 'application/soap+xml;charset=UTF-8' };
      expect(await post({ ...soap, authorization: HTTPS_MUTUAL_PROFILE })).toBe(403);
      expect(await post(soap)).toBe(401);
    } finally {
      await client.close();
    }
    expect(await ep.waitForEvent(/^AUTHFAIL \d+ Certificate 403 no client certificate$/)).toBeTruthy();
  });

  it('over HTTP: refused with the reason before anything is sent', async () => {
    const e = await failure(
      openSession({
        transport,
        bound: {
          parameterSet: 'ComputerName',
          bound: { ComputerName: '127.0.0.1', Port: ep.httpsPort ?? 0, CertificateThumbprint: PSUSER },
        },
        hostUi: new RecordingHostUi(),
        env: { PSREMOTE_CERT_DIR: dir },
      }),
    );
    expect(failureOf(e)).toBe('HttpNotAllowed');
    expect(e.message).toContain(
      'Client certificate authentication (-CertificateThumbprint) needs the HTTPS transport',
    );
  });

  it('a key file others can read: refused as ssh refuses it, naming the file and the fix', async () => {
    const e = await failure(open({ CertificateThumbprint: PSUSER }, new RecordingHostUi(), openDir));
    expect(failureOf(e)).toBe('KeyPermissions');
    expect(e.message).toContain(
      `Permissions 0644 for the private key file ${join(openDir, 'psuser.pem')} are too open`,
    );
    expect(e.message).toContain(`chmod 600 '${join(openDir, 'psuser.pem')}'`);
  });

  it('a redirect to http:// with -AllowRedirection: refused before a byte goes there; the session does not open', async () => {
    // A bare TCP listener stands where the redirect points: it counts connections, so "nothing was sent" is seen.
    let connections = 0;
    const sink: Server = createServer((sock) => {
      connections++;
      sock.destroy();
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const httpPort = (sink.address() as { port: number }).port;
    const redirecting = await startWsmanEndpoint({
      httpsOnly: true,
      redirectTo: `http://127.0.0.1:${httpPort}/wsman`,
      redirectStatus: 302,
      clientCertificates: {
        caFile: CA_FILE,
        mode: 'optional',
        map: [`psuser@psremote.test ${CA_THUMBPRINT} psuser`],
      },
    });
    try {
      const e = await failure(
        openSession({
          transport: createWinrmTransport({ ...(redirecting.caPem ? { ca: redirecting.caPem } : {}) }),
          bound: {
            parameterSet: 'Uri',
            bound: {
              ConnectionUri: redirecting.httpsUrl ?? '',
              AllowRedirection: true,
              CertificateThumbprint: PSUSER,
            },
          },
          hostUi: new RecordingHostUi(),
          env: { LANG: 'en_US.UTF-8', PSREMOTE_CERT_DIR: dir },
        }),
      );
      expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
      expect(failureOf(e)).toBe('HttpNotAllowed');
      expect(e.message).toBe(
        `Connecting to remote server 127.0.0.1 failed with the following error message : The WinRM client cannot process the request. Client certificate authentication (-CertificateThumbprint) needs the HTTPS transport, and http://127.0.0.1:${httpPort}/wsman is HTTP. Use -UseSSL, or an https:// -ConnectionUri. For more information, see the about_Remote_Troubleshooting Help topic.`,
      );
      expect(connections).toBe(0);
      // The redirecting endpoint saw the one request it redirected, and no authentication.
      expect(redirecting.events.some((l) => l.startsWith('AUTH'))).toBe(false);
    } finally {
      await redirecting.stop();
      await new Promise<void>((r) => sink.close(() => r()));
    }
  }, 60_000);
});
