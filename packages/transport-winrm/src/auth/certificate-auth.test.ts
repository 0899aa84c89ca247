import { describe, expect, it } from 'vitest';
import { certificateAuth, HTTPS_MUTUAL_PROFILE } from './certificate-auth.ts';
import { ClientCertificateError } from './client-certificate.ts';

describe('certificateAuth', () => {
  const body = new Uint8Array([60, 120, 47, 62]);
  it('names the https/mutual security profile as the whole Authorization header of every request', async () => {
    const auth = certificateAuth();
    for (const attempt of [0, 1]) {
      const p = await auth.prepare({
        lane: 'operation',
        url: new URL('https://srv01:5986/wsman'),
        body,
        attempt,
      });
      expect(p).toEqual({
        headers: { authorization: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual' },
      });
    }
    expect(HTTPS_MUTUAL_PROFILE).toBe('http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual');
    expect(auth.challenge).toBeUndefined();
  });

  it('sends nothing over HTTP (a redirect to http:// included)', () => {
    const auth = certificateAuth();
    let err: unknown;
    try {
      auth.prepare({ lane: 'operation', url: new URL('http://srv01:5985/wsman'), body, attempt: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ClientCertificateError);
    expect((err as ClientCertificateError).failure).toBe('HttpNotAllowed');
  });
});
