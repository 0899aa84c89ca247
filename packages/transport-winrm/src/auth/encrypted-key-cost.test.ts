import { createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tlv } from './der.ts';
import { encryptedKeyCost, MAX_KDF_WORK } from './encrypted-key-cost.ts';

/** The same throwaway P-256 key encrypted by `openssl pkcs8 -topk8` three ways, passphrase `x`. */
const SCRYPT = `-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHkME8GCSqGSIb3DQEFDTBCMCEGCSsGAQQB2kcECzAUBAjaHtzfDa6flgICQAAC
AQgCAQEwHQYJYIZIAWUDBAEqBBDiSKo/Ik63IVzTuiuhzNYQBIGQ0c+2m3SD3h7X
XThYmk2GFAgLJMNx5eiY6G4SbF39nWRaympATHRrN/1cb8sYB2T/2kRM2XahHDdw
9CmqsrrigHfa5roE2Ssc0EXZ1DIIXWKfMdOR7O8zvV94qOqnkSOn/kxabQw4w8rr
HdJ8aRXlOO2kE5L8+2o/RXVZU6mk0kaRgo6hOrMrKLYmVNq8C9Dy
-----END ENCRYPTED PRIVATE KEY-----`;
const PBES1_3DES = `-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGxMBwGCiqGSIb3DQEMAQMwDgQIVO2EI+0kOxACAgu4BIGQwhrFjpumxMKqeE2V
VEBc1l5POh/UR/jap43qEJ8rp4hrzmLXMXBI5DfvWuP9fFEDbk8xZEv8Hof2p/do
2H5BBAxSDAqIicLpo54qMskngMxymmrc3JpcY56wHPJR1xCpq/3MpzR9uPTSWrbG
w3q1Uc4Xx30nQd7tMCmkOr8bMKqmaVloZpP3C8eS3mVOhX2h
-----END ENCRYPTED PRIVATE KEY-----`;
const PBKDF2_70000 = `-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHtMFgGCSqGSIb3DQEFDTBLMCoGCSqGSIb3DQEFDDAdBAgf16r/Sac+LQIDARFw
MAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAEqBBD8s6VghoclVVIS0T1sJbiFBIGQ
mndqrfh1JqoeD9GPSgoRXw5xxhSK10HF0zEZMiW7p8dDqooDJj/C7vURjgyU6Mvq
pCXTwgpZVPN5AMpbY10AwJkw6JbJtwiDRQN4i/OItNIYtapEdKnk+rSlORTEmViZ
cefPUlCVrCxjtY3o8yL7+stkOpA+Bt+cmn/R1xDDLPfyMkjx+KQnmlf2wsLoHIkE
-----END ENCRYPTED PRIVATE KEY-----`;

const SEQ = 0x30;
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, 'hex'));
const int = (hex: string) => tlv(0x02, Buffer.from(hex, 'hex'));
const octets = (n: number) => tlv(0x04, new Uint8Array(n));
const pem = (der: Uint8Array) =>
  `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${Buffer.from(der).toString('base64')}\n-----END ENCRYPTED PRIVATE KEY-----`;

/** A PBES2/PBKDF2 key whose iteration count is `count` (hex, big-endian); the ciphertext is zeros. */
function pbkdf2Key(count: string): string {
  const kdf = tlv(SEQ, oid('2a864886f70d01050c'), tlv(SEQ, octets(8), int(count)));
  const enc = tlv(SEQ, oid('60864801650304012a'), octets(16));
  return pem(tlv(SEQ, tlv(SEQ, oid('2a864886f70d01050d'), tlv(SEQ, kdf, enc)), octets(48)));
}

describe('encryptedKeyCost', () => {
  it("reads the cost of openssl's own encodings, and each of them still decrypts", () => {
    expect(encryptedKeyCost(PBKDF2_70000)).toEqual({ kdf: 'PBKDF2', work: 70_000 });
    expect(encryptedKeyCost(SCRYPT)).toEqual({ kdf: 'scrypt', work: 16384 * 8 * 1 });
    expect(encryptedKeyCost(PBES1_3DES)).toEqual({ kdf: 'PBES1', work: 3000 });
    for (const k of [PBKDF2_70000, SCRYPT, PBES1_3DES])
      expect(createPrivateKey({ key: k, passphrase: 'x' }).asymmetricKeyType).toBe('ec');
  });

  it('a hostile count is seen before anything is decrypted', () => {
    expect(encryptedKeyCost(pbkdf2Key('7fffffff'))).toEqual({ kdf: 'PBKDF2', work: 0x7fffffff });
    expect(encryptedKeyCost(pbkdf2Key('00ffffffffffffffff'))?.work).toBe(Number.POSITIVE_INFINITY);
    expect(MAX_KDF_WORK.PBKDF2).toBeLessThan(0x7fffffff);
  });

  it('not PKCS#8-encrypted, or not understood: undefined (OpenSSL judges)', () => {
    expect(encryptedKeyCost('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----')).toBeUndefined();
    expect(encryptedKeyCost(pem(new Uint8Array([0x30, 0x84, 0xff])))).toBeUndefined();
    expect(encryptedKeyCost(pem(tlv(SEQ, tlv(SEQ, oid('2b0601'), octets(2)))))).toBeUndefined();
  });
});
