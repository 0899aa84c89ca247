import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BoundValue, openSession, type PSSession, RecordingHostUi } from '@psremote/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificate } from '../../src/auth/testing-fixtures/openssl-cert.ts';
import { createWinrmTransport } from '../../src/winrm-transport.ts';
import { endpointSkipReason, type StartedEndpoint, startWsmanEndpoint } from './endpoint.ts';
import { type FakeCrypt32, type FakeStoreCertificate, fakeCrypt32 } from './fake-crypt32.ts';
import { CLIENT_CERTS, certificateFailureOf, remotingFailure } from './peers.ts';

/**
 * -CertificateThumbprint as on Windows, on this machine: the transport resolves for platform win32 and reads the
 * user's store through fake-crypt32.ts (the wincrypt.h contract over koffi memory, real certificates, the PKCS#12 made
 * by the real openssl), then connects through the whole WinRM transport to wsman_endpoint.py with client_cert.py,
 * which checks the certificate in the TLS handshake against the test CA and maps it to a local user, as WinRM's
 * ClientCertificate table does. Every path is checked to leave no store handle or certificate context open.
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
const pem = (n: string) => readFileSync(join(FIXTURES, n), 'utf8');

const failure = remotingFailure;
const failureOf = certificateFailureOf;

describe.skipIf(skip)(
  '-CertificateThumbprint from Cert:\\CurrentUser\\My (fake crypt32) against the endpoint',
  () => {
    let ep: StartedEndpoint;
    let expired: ReturnType<typeof makeTestCertificate>;
    let serverOnly: ReturnType<typeof makeTestCertificate>;
    const store: FakeStoreCertificate[] = [];

    beforeAll(async () => {
      ep = await startWsmanEndpoint({
        httpsOnly: true,
        clientCertificates: {
          caFile: CA_FILE,
          mode: 'optional',
          map: [`psuser@psremote.test ${CA_THUMBPRINT} psuser`],
        },
      });
      expired = makeTestCertificate({
        cn: 'expired',
        eku: 'clientAuth',
        notBefore: '20200101000000Z',
        notAfter: '20200201000000Z',
      });
      serverOnly = makeTestCertificate({ cn: 'server-only', eku: 'serverAuth' });
      store.push(
        { certPem: pem('psuser.pem'), keyPem: pem('psuser.pem') },
        // nobody: imported from its .cer alone, no key.
        { certPem: pem('nobody.pem') },
        // locked: a key marked non-exportable (the encrypted PEM is only where the fake keeps it).
        { certPem: pem('locked.pem'), keyPem: pem('locked.key'), exportable: false },
        { certPem: expired.certPem, keyPem: expired.keyPem },
        { certPem: serverOnly.certPem, keyPem: serverOnly.keyPem },
      );
    }, 60_000);
    afterAll(async () => {
      await ep?.stop();
    });

    function open(fake: FakeCrypt32, bound: Record<string, BoundValue>): Promise<PSSession> {
      return openSession({
        transport: createWinrmTransport({
          ...(ep.caPem ? { ca: ep.caPem } : {}),
          certificateStore: { platform: 'win32', crypt32: fake.load },
        }),
        bound: {
          parameterSet: 'ComputerName',
          bound: { ComputerName: '127.0.0.1', Port: ep.httpsPort ?? 0, UseSSL: true, ...bound },
        },
        hostUi: new RecordingHostUi(),
        env: { LANG: 'en_US.UTF-8' },
      });
    }

    it('found: exported with its key, presented in the handshake, mapped to psuser; a pipeline runs; all freed', async () => {
      const fake = fakeCrypt32({ certificates: store });
      const before = ep.events.length;
      const s = await open(fake, { CertificateThumbprint: PSUSER.toLowerCase() });
      try {
        expect((await s.invoke('"$($PSVersionTable.PSEdition):" + (40+2)').result()).output).toEqual([
          'Core:42',
        ]);
      } finally {
        await s.close();
      }
      const auths = ep.events.slice(before).filter((l) => l.startsWith('AUTH '));
      expect(auths.length).toBeGreaterThanOrEqual(2);
      for (const a of auths)
        expect(a).toContain(
          `Certificate psuser cbt=none target=- subject=psuser@psremote.test issuer=${CA_THUMBPRINT} thumbprint=${PSUSER}`,
        );
      // Looked up at resolve, exported at connect (a size call, then the bytes): the PKCS#12 was openssl's, under PBES2.
      expect(fake.pfxMade).toHaveLength(2);
      expect(fake.exports.every((e) => e.pbes2Alg === 'AES256-SHA256')).toBe(true);
      expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
    }, 60_000);

    it('--dry-run: the summary names the thumbprint, the subject and Cert:\\CurrentUser\\My, no file', () => {
      const fake = fakeCrypt32({ certificates: store });
      const t = createWinrmTransport({
        certificateStore: { platform: 'win32', crypt32: fake.load },
      }).resolveTarget(
        {
          parameterSet: 'ComputerName',
          bound: { ComputerName: 'srv', UseSSL: true, CertificateThumbprint: PSUSER },
        },
        {},
      );
      expect(t.summary).toMatchObject({
        authentication: 'ClientCertificate',
        certificateThumbprint: PSUSER,
        certificateSubject: 'CN=psuser',
        certificateStore: 'Cert:\\CurrentUser\\My',
      });
      expect(t.summary).not.toHaveProperty('certificateFile');
      expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
    });

    it('not found: CreateRemoteRunspaceFailed naming Cert:\\CurrentUser\\My; nothing sent; all freed', async () => {
      const fake = fakeCrypt32({ certificates: store });
      const before = ep.events.length;
      const e = await failure(open(fake, { CertificateThumbprint: '00'.repeat(20) }));
      expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
      expect(failureOf(e)).toBe('NotFound');
      expect(e.message).toBe(
        `Connecting to remote server 127.0.0.1 failed with the following error message : No certificate with thumbprint ${'00'.repeat(20)} was found in Cert:\\CurrentUser\\My. Import it with its private key (Import-PfxCertificate -CertStoreLocation Cert:\\CurrentUser\\My), or set PSREMOTE_CERT_DIR to a directory of PEM files. For more information, see the about_Remote_Troubleshooting Help topic.`,
      );
      expect(ep.events.slice(before)).toEqual([]);
      expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
    });

    it('no private key, or a non-exportable one: refused at connect with the reason; nothing sent; all freed', async () => {
      const fake = fakeCrypt32({ certificates: store });
      const before = ep.events.length;
      const n = await failure(open(fake, { CertificateThumbprint: NOBODY }));
      expect(failureOf(n)).toBe('NoPrivateKey');
      expect(n.message).toContain(
        `The certificate with thumbprint ${NOBODY} in Cert:\\CurrentUser\\My has no private key.`,
      );
      const x = await failure(open(fake, { CertificateThumbprint: LOCKED }));
      expect(x.errorId).toBe('CreateRemoteRunspaceFailed');
      expect(failureOf(x)).toBe('KeyNotExportable');
      expect(x.message).toContain('cannot be used by psremote');
      expect(x.message).toContain(`certutil -user -store My ${LOCKED}`);
      expect(ep.events.slice(before)).toEqual([]);
      expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
    });

    it('expired, or an EKU without Client Authentication: their own errorIds, before anything is sent', async () => {
      const fake = fakeCrypt32({ certificates: store });
      const before = ep.events.length;
      const e = await failure(open(fake, { CertificateThumbprint: expired.thumbprint }));
      expect(e.errorId).toBe('ClientCertificateExpired');
      expect(e.fullyQualifiedErrorId).toBe(
        'ClientCertificateExpired,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
      );
      expect(e.category).toBe('SecurityError');
      expect(e.message).toContain(
        'expired on 2020-02-01 00:00:00 UTC (it was valid from 2020-01-01 00:00:00 UTC)',
      );
      const s = await failure(open(fake, { CertificateThumbprint: serverOnly.thumbprint }));
      expect(s.errorId).toBe('ClientCertificateNotForClientAuth');
      expect(s.message).toContain('Server Authentication (1.3.6.1.5.5.7.3.1), without Client Authentication');
      expect(ep.events.slice(before)).toEqual([]);
      expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
    });

    it('an older Windows (no PBES2 export): its default PKCS#12 (certificates under RC2-40, which Node refuses; the key under 3DES) works too', async () => {
      const fake = fakeCrypt32({ certificates: store, windows: 'rc2' });
      const s = await open(fake, { CertificateThumbprint: PSUSER });
      try {
        expect((await s.invoke('6*7').result()).output).toEqual([42]);
      } finally {
        await s.close();
      }
      expect(fake.exports.map((x) => x.pbes2Alg)).toEqual(['AES256-SHA256', null, null]);
      expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
    }, 60_000);
  },
);
