import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANY_EKU, CLIENT_AUTH_EKU, checkClientCertificate, utcDate } from './certificate-checks.ts';
import { findClientCertificate } from './client-certificate.ts';
import { certificateFailure } from './testing-fixtures/certificate-failure.ts';
import { makeTestCertificate, type TestCertificate } from './testing-fixtures/openssl-cert.ts';

// Certificates made by the openssl CLI for each case (openssl-cert.ts): the checks read what a real certificate
// holds, through Node's X509Certificate, not a hand-written structure.

const failure = certificateFailure;

const x509 = (c: TestCertificate) => new X509Certificate(c.certPem);

describe('checkClientCertificate', () => {
  let client: TestCertificate;
  let expired: TestCertificate;
  let future: TestCertificate;
  let serverOnly: TestCertificate;
  let any: TestCertificate;
  let noEku: TestCertificate;
  let both: TestCertificate;
  beforeAll(() => {
    client = makeTestCertificate({ cn: 'client', eku: 'clientAuth' });
    expired = makeTestCertificate({
      cn: 'expired',
      eku: 'clientAuth',
      notBefore: '20200101000000Z',
      notAfter: '20210630120000Z',
    });
    future = makeTestCertificate({
      cn: 'future',
      eku: 'clientAuth',
      notBefore: '20990101000000Z',
      notAfter: '20991231235959Z',
    });
    serverOnly = makeTestCertificate({ cn: 'server', eku: 'serverAuth,codeSigning' });
    any = makeTestCertificate({ cn: 'any', eku: 'anyExtendedKeyUsage' });
    noEku = makeTestCertificate({ cn: 'noeku', eku: null });
    both = makeTestCertificate({ cn: 'both', eku: 'serverAuth,clientAuth' });
  }, 60_000);

  it('the OIDs: id-kp-clientAuth and anyExtendedKeyUsage (RFC 5280 4.2.1.12)', () => {
    expect(CLIENT_AUTH_EKU).toBe('1.3.6.1.5.5.7.3.2');
    expect(ANY_EKU).toBe('2.5.29.37.0');
  });

  it('accepts a valid client-authentication certificate, one with several usages, anyExtendedKeyUsage, and none', () => {
    for (const c of [client, both, any, noEku])
      expect(() => checkClientCertificate(x509(c), c.thumbprint, 'x')).not.toThrow();
    // What the accepted ones hold, so the test cannot pass on certificates without the extension.
    expect(x509(client).keyUsage).toEqual([CLIENT_AUTH_EKU]);
    expect(x509(any).keyUsage).toEqual([ANY_EKU]);
    expect(x509(noEku).keyUsage).toBeUndefined();
  });

  it('expired: refused, naming both dates in UTC and the time now', () => {
    const e = failure(() => checkClientCertificate(x509(expired), expired.thumbprint, '/certs/expired.pem'));
    expect(e.failure).toBe('CertificateExpired');
    expect(e.message).toMatch(
      new RegExp(
        `^The certificate with thumbprint ${expired.thumbprint} \\(/certs/expired\\.pem\\) expired on 2021-06-30 12:00:00 UTC \\(it was valid from 2020-01-01 00:00:00 UTC\\); it is \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\. Renew the certificate`,
      ),
    );
  });

  it('not yet valid: refused, naming the period and pointing at the clock', () => {
    const e = failure(() =>
      checkClientCertificate(x509(future), future.thumbprint, 'Cert:\\CurrentUser\\My\\X'),
    );
    expect(e.failure).toBe('CertificateNotYetValid');
    expect(e.message).toContain(
      'is not valid yet: it is valid from 2099-01-01 00:00:00 UTC to 2099-12-31 23:59:59 UTC',
    );
    expect(e.message).toContain("Check this computer's clock");
  });

  it('the edges: valid at its first and last second, not one second outside', () => {
    const c = x509(client);
    const from = new Date(c.validFrom);
    const to = new Date(c.validTo);
    expect(() => checkClientCertificate(c, client.thumbprint, 'x', from)).not.toThrow();
    expect(() => checkClientCertificate(c, client.thumbprint, 'x', to)).not.toThrow();
    expect(
      failure(() => checkClientCertificate(c, client.thumbprint, 'x', new Date(from.getTime() - 1000)))
        .failure,
    ).toBe('CertificateNotYetValid');
    expect(
      failure(() => checkClientCertificate(c, client.thumbprint, 'x', new Date(to.getTime() + 1000))).failure,
    ).toBe('CertificateExpired');
  });

  it('an EKU without Client Authentication: refused before the handshake, naming what it lists', () => {
    const e = failure(() => checkClientCertificate(x509(serverOnly), serverOnly.thumbprint, 'server.pem'));
    expect(e.failure).toBe('NotForClientAuthentication');
    expect(e.message).toBe(
      `The certificate with thumbprint ${serverOnly.thumbprint} (server.pem) is not for client authentication: its Extended Key Usage lists Server Authentication (1.3.6.1.5.5.7.3.1), Code Signing (1.3.6.1.5.5.7.3.3), without Client Authentication (1.3.6.1.5.5.7.3.2), so WinRM refuses it. Use a certificate issued for Client Authentication.`,
    );
  });

  it('utcDate: ISO date and time, UTC, seconds', () => {
    expect(utcDate(new Date('2026-11-27T03:04:05.678Z'))).toBe('2026-11-27 03:04:05 UTC');
  });

  describe('through the directory lookup', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'psremote-checks-'));
      for (const [name, c] of [
        ['expired', expired],
        ['server', serverOnly],
        ['noeku', noEku],
      ] as const)
        writeFileSync(join(dir, `${name}.pem`), c.certPem + c.keyPem, { mode: 0o600 });
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('an expired or server-only certificate in the directory is refused at lookup, naming its file', () => {
      const e = failure(() => findClientCertificate(expired.thumbprint, { env: { PSREMOTE_CERT_DIR: dir } }));
      expect(e.failure).toBe('CertificateExpired');
      expect(e.message).toContain(`(${join(dir, 'expired.pem')}) expired on 2021-06-30 12:00:00 UTC`);
      const s = failure(() =>
        findClientCertificate(serverOnly.thumbprint, { env: { PSREMOTE_CERT_DIR: dir } }),
      );
      expect(s.failure).toBe('NotForClientAuthentication');
      expect(s.message).toContain(join(dir, 'server.pem'));
    });

    it('a certificate without EKU is found; `now` moves the check (a day after it ends: expired)', () => {
      const f = findClientCertificate(noEku.thumbprint, { env: { PSREMOTE_CERT_DIR: dir } });
      expect(f.certFile).toBe(join(dir, 'noeku.pem'));
      const later = new Date(new Date(x509(noEku).validTo).getTime() + 86_400_000);
      expect(
        failure(() =>
          findClientCertificate(noEku.thumbprint, { env: { PSREMOTE_CERT_DIR: dir }, now: later }),
        ).failure,
      ).toBe('CertificateExpired');
    });
  });
});
