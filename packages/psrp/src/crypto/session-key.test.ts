import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PsrpProtocolError } from '../errors.ts';
import { decryptSecureString, encryptSecureString, SessionKeyExchange } from './session-key.ts';

function errorId(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PsrpProtocolError) return e.errorId;
    throw e;
  }
  throw new Error('expected a PsrpProtocolError');
}

/** The public key inside a PUBLICKEYBLOB, read back with node's own RSA (an independent parser). */
function keyOf(blob: Buffer) {
  const n = Buffer.from(blob.subarray(20)).reverse();
  const e = blob.readUInt32LE(16);
  const eBytes = Buffer.from(e.toString(16).padStart(6, '0'), 'hex');
  return createPublicKey({
    key: { kty: 'RSA', n: n.toString('base64url'), e: eBytes.toString('base64url') },
    format: 'jwk',
  });
}

/** What the server does (MS-PSRP 2.2.2.4; CryptoUtils.cs): SIMPLEBLOB header, then reversed PKCS#1 v1.5. */
function simpleBlob(blob: Buffer, key: Uint8Array): string {
  const cipher = publicEncrypt({ key: keyOf(blob), padding: constants.RSA_PKCS1_PADDING }, key);
  return Buffer.concat([
    Buffer.from('01020000106600000' + '0a40000', 'hex'),
    Buffer.from(cipher).reverse(),
  ]).toString('base64');
}

const kx = new SessionKeyExchange();
const blob = Buffer.from(kx.publicKeyBlob(), 'base64');

describe('session key exchange below protocol 2.4 (protocols.md 1.7, MS-PSRP 2.2.2.3-2.2.2.4)', () => {
  it('lays the PUBLICKEYBLOB out byte by byte', () => {
    expect(blob).toHaveLength(8 + 12 + 256);
    // BLOBHEADER: bType PUBLICKEYBLOB (6), bVersion 2, reserved 0, aiKeyAlg CALG_RSA_KEYX (0x0000a400) LE.
    expect(blob.subarray(0, 8).toString('hex')).toBe('0602000000a40000');
    // RSAPUBKEY: magic "RSA1", bitlen 2048 LE, public exponent 65537 LE.
    expect(blob.subarray(8, 12).toString('ascii')).toBe('RSA1');
    expect(blob.readUInt32LE(12)).toBe(2048);
    expect(blob.readUInt32LE(16)).toBe(65537);
    // Modulus little-endian: its last byte is the most significant one, set for a 2048-bit key; the first
    // (least significant) is odd, as every RSA modulus is.
    expect((blob[275] as number) & 0x80).toBe(0x80);
    expect((blob[20] as number) & 1).toBe(1);
    // Each exchange has its own key pair.
    expect(new SessionKeyExchange().publicKeyBlob()).not.toBe(kx.publicKeyBlob());
  });

  it('recovers the AES-256 key the server encrypted with our public key', () => {
    const key = randomBytes(32);
    const k = new SessionKeyExchange();
    expect(k.hasSessionKey).toBe(false);
    k.acceptEncryptedSessionKey(simpleBlob(Buffer.from(k.publicKeyBlob(), 'base64'), key));
    expect(k.hasSessionKey).toBe(true);
    expect(Buffer.from(k.sessionKey as Uint8Array).equals(key)).toBe(true);
  });

  it('refuses a bad SIMPLEBLOB with PsrpBadSessionKey, never a crash', () => {
    const good = Buffer.from(simpleBlob(blob, randomBytes(32)), 'base64');
    const k = new SessionKeyExchange();
    expect(errorId(() => k.acceptEncryptedSessionKey(''))).toBe('PsrpBadSessionKey');
    expect(errorId(() => k.acceptEncryptedSessionKey(good.subarray(0, 100).toString('base64')))).toBe(
      'PsrpBadSessionKey',
    );
    const wrongType = Buffer.from(good);
    wrongType[0] = 0x06;
    expect(errorId(() => kx.acceptEncryptedSessionKey(wrongType.toString('base64')))).toBe(
      'PsrpBadSessionKey',
    );
    // Encrypted for another key pair: the padding does not check out.
    expect(errorId(() => k.acceptEncryptedSessionKey(good.toString('base64')))).toBe('PsrpBadSessionKey');
    // A "ciphertext" above the modulus: OpenSSL refuses it, we report it.
    const big = Buffer.concat([good.subarray(0, 12), Buffer.alloc(256, 0xff)]);
    expect(errorId(() => k.acceptEncryptedSessionKey(big.toString('base64')))).toBe('PsrpBadSessionKey');
    // A 16-byte key (AES-128) is not what PowerShell sends.
    expect(
      errorId(() =>
        k.acceptEncryptedSessionKey(simpleBlob(Buffer.from(k.publicKeyBlob(), 'base64'), randomBytes(16))),
      ),
    ).toBe('PsrpBadSessionKey');
    expect(k.hasSessionKey).toBe(false);
  });
});

describe('SecureString text (MS-PSRP 2.2.5.1.24)', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  it('matches vectors made by .NET Aes (key 0..31, zero IV, CBC, PKCS7)', () => {
    // pwsh: $aes=[Security.Cryptography.Aes]::Create(); $aes.Key=[byte[]](0..31); $aes.IV=[byte[]]::new(16)
    //       [Convert]::ToBase64String($aes.CreateEncryptor().TransformFinalBlock($p,0,$p.Length))
    expect(encryptSecureString('P@ssw0rd!', key)).toBe('kPNWa8duthiZkv++WNVtS53GbrG2V+3FYWzQiKmUMSo=');
    expect(encryptSecureString('', key)).toBe('nzt1BJJvi9NuMRjpA6TNSg==');
    expect(decryptSecureString('kPNWa8duthiZkv++WNVtS53GbrG2V+3FYWzQiKmUMSo=', key)).toBe('P@ssw0rd!');
  });
  it('is plain base64 of UTF-16LE from protocol 2.4 on (key null)', () => {
    expect(encryptSecureString('ab', null)).toBe(Buffer.from([0x61, 0, 0x62, 0]).toString('base64'));
    expect(encryptSecureString('ab', null)).toBe('YQBiAA==');
    expect(decryptSecureString('YQBiAA==', null)).toBe('ab');
    expect(decryptSecureString(encryptSecureString('密码 🎵', null), null)).toBe('密码 🎵');
  });
  it('round-trips with a session key, and a wrong key does not give the text back', () => {
    const other = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
    const c = encryptSecureString('secret', key);
    expect(decryptSecureString(c, key)).toBe('secret');
    let wrong: string | undefined;
    try {
      wrong = decryptSecureString(c, other);
    } catch (e) {
      // Bad padding, the usual outcome, is a protocol error.
      expect((e as PsrpProtocolError).errorId).toBe('PsrpBadSecureString');
    }
    expect(wrong).not.toBe('secret');
    expect(errorId(() => decryptSecureString('AAAA', key))).toBe('PsrpBadSecureString');
  });
});
