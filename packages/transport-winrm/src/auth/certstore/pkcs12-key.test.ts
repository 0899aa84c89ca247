import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pkcs12ShroudedKey } from './pkcs12-key.ts';

// PKCS#12 files made by the real openssl in the layouts Windows writes: the key bag in a plain `data` ContentInfo,
// the certificates in an `encryptedData` one.
const PEM = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'client-certs', 'psuser.pem');
const cert = new X509Certificate(execFileSync('openssl', ['x509', '-in', PEM]));

function pfx(...algs: string[]): Buffer {
  return execFileSync(
    'openssl',
    ['pkcs12', '-export', '-in', PEM, '-inkey', PEM, '-passout', 'pass:secret', ...algs],
    { timeout: 30_000 },
  );
}

describe('pkcs12ShroudedKey', () => {
  it('a Windows-before-1709 PFX (certificates RC2-40, key 3DES): the key bag, which Node decrypts', () => {
    const p = pfx('-legacy');
    const epki = pkcs12ShroudedKey(p);
    expect(epki).toBeDefined();
    const key = createPrivateKey({ key: epki as Buffer, format: 'der', type: 'pkcs8', passphrase: 'secret' });
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(() =>
      createPrivateKey({ key: epki as Buffer, format: 'der', type: 'pkcs8', passphrase: 'wrong' }),
    ).toThrow();
  });

  it('a PBES2 PFX: the same bag is found (AES-256)', () => {
    const epki = pkcs12ShroudedKey(pfx('-keypbe', 'AES-256-CBC', '-certpbe', 'AES-256-CBC'));
    const key = createPrivateKey({ key: epki as Buffer, format: 'der', type: 'pkcs8', passphrase: 'secret' });
    expect(cert.checkPrivateKey(key)).toBe(true);
  });

  it('no key bag (certificates only), truncated or foreign bytes: undefined, never a throw', () => {
    expect(pkcs12ShroudedKey(pfx('-nokeys'))).toBeUndefined();
    const p = pfx('-legacy');
    for (let n = 0; n < p.length; n += 97) expect(pkcs12ShroudedKey(p.subarray(0, n))).toBeUndefined();
    expect(pkcs12ShroudedKey(Buffer.from('30 84 ff ff ff ff 00'.replace(/ /g, ''), 'hex'))).toBeUndefined();
    expect(pkcs12ShroudedKey(Buffer.from('not a pfx'))).toBeUndefined();
    expect(pkcs12ShroudedKey(cert.raw)).toBeUndefined();
  });
});
