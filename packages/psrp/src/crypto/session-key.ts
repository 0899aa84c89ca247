import {
  constants,
  createCipheriv,
  createDecipheriv,
  generateKeyPairSync,
  type KeyObject,
  privateDecrypt,
} from 'node:crypto';
import { PsrpProtocolError } from '../errors.ts';

/**
 * The session-key exchange of protocol versions below 2.4 (protocols.md 1.7; MS-PSRP 2.2.2.3-2.2.2.4;
 * PowerShell CryptoUtils.cs): we send an RSA-2048 public key as a CAPI PUBLICKEYBLOB; the server answers with
 * an AES-256 key in a SIMPLEBLOB (RSA PKCS#1 v1.5, ciphertext byte-reversed).
 */
export class SessionKeyExchange {
  private readonly privateKey: KeyObject;
  private readonly modulus: Buffer;
  private readonly exponent: Buffer;
  private key: Uint8Array | undefined;

  constructor() {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicExponent: 0x10001,
    });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.modulus = Buffer.from(jwk.n as string, 'base64url');
    this.exponent = Buffer.from(jwk.e as string, 'base64url');
  }

  /** Base64 of the PUBLICKEYBLOB: BLOBHEADER, RSAPUBKEY ("RSA1", bit length, exponent), modulus little-endian. */
  publicKeyBlob(): string {
    const blob = Buffer.alloc(20 + 256);
    blob.set([0x06, 0x02, 0x00, 0x00, 0x00, 0xa4, 0x00, 0x00], 0); // PUBLICKEYBLOB, v2, CALG_RSA_KEYX
    blob.write('RSA1', 8, 'ascii');
    blob.writeUInt32LE(2048, 12);
    let e = 0;
    for (const byte of this.exponent) e = e * 256 + byte;
    blob.writeUInt32LE(e, 16);
    const mod = Buffer.from(this.modulus).reverse();
    mod.copy(blob, 20);
    return blob.toString('base64');
  }

  /** Takes the server's ENCRYPTED_SESSION_KEY (base64 SIMPLEBLOB) and keeps the AES-256 key. */
  acceptEncryptedSessionKey(b64: string): void {
    const blob = Buffer.from(b64, 'base64');
    if (blob.length !== 12 + 256 || blob[0] !== 0x01) {
      throw new PsrpProtocolError(
        'PsrpBadSessionKey',
        `the encrypted session key has an unexpected layout (${blob.length} bytes)`,
      );
    }
    const cipher = Buffer.from(blob.subarray(12)).reverse();
    // Node 20 refuses PKCS#1 v1.5 decryption (CVE-2023-46809); decrypt raw and check the padding here.
    let raw: Buffer;
    try {
      raw = privateDecrypt({ key: this.privateKey, padding: constants.RSA_NO_PADDING }, cipher);
    } catch (cause) {
      // A ciphertext not below our modulus (a peer's garbage) makes OpenSSL throw: that is bad input, not a crash.
      throw new PsrpProtocolError('PsrpBadSessionKey', 'the encrypted session key does not decrypt', {
        cause,
      });
    }
    if (raw[0] !== 0x00 || raw[1] !== 0x02)
      throw new PsrpProtocolError('PsrpBadSessionKey', 'bad session key padding');
    const sep = raw.indexOf(0x00, 2);
    if (sep < 10) throw new PsrpProtocolError('PsrpBadSessionKey', 'bad session key padding');
    const key = raw.subarray(sep + 1);
    if (key.length !== 32)
      throw new PsrpProtocolError('PsrpBadSessionKey', `session key of ${key.length} bytes, expected 32`);
    this.key = new Uint8Array(key);
  }

  get hasSessionKey(): boolean {
    return this.key !== undefined;
  }

  get sessionKey(): Uint8Array | undefined {
    return this.key;
  }
}

const ZERO_IV = Buffer.alloc(16);

/** `<SS>` text: base64 of UTF-16LE, AES-256-CBC encrypted with a zero IV below 2.4 (key null: plain, 2.4+). */
export function encryptSecureString(plain: string, key: Uint8Array | null): string {
  const bytes = Buffer.from(plain, 'utf16le');
  if (!key) return bytes.toString('base64');
  const c = createCipheriv('aes-256-cbc', key, ZERO_IV);
  return Buffer.concat([c.update(bytes), c.final()]).toString('base64');
}

export function decryptSecureString(b64: string, key: Uint8Array | null): string {
  const bytes = Buffer.from(b64, 'base64');
  if (!key) return bytes.toString('utf16le');
  try {
    const d = createDecipheriv('aes-256-cbc', key, ZERO_IV);
    return Buffer.concat([d.update(bytes), d.final()]).toString('utf16le');
  } catch (cause) {
    // Bad padding or a length that is not a whole number of blocks: the peer's input, not our crash.
    throw new PsrpProtocolError(
      'PsrpBadSecureString',
      'a SecureString does not decrypt with the session key',
      {
        cause,
      },
    );
  }
}
