import { readChildren, readTlv, type Tlv } from './der.ts';

/**
 * How much work decrypting a PKCS#8 `ENCRYPTED PRIVATE KEY` (RFC 5958 EncryptedPrivateKeyInfo) asks for, read from
 * the key before the passphrase is asked. The key derivation's cost is the file's to choose, and OpenSSL spends it
 * synchronously (Node's createPrivateKey blocks the event loop, Ctrl+C included): 2^31 PBKDF2 iterations are minutes
 * per attempt. Common tools choose 2048 (OpenSSL) to 600 000 (current guidance), scrypt N=16384, r=8, p=1.
 */

/** PBKDF2 iterations (RFC 8018 A.2) or scrypt's N*r*p (RFC 7914 7.1): work in units of one iteration/block. */
export interface EncryptedKeyCost {
  readonly kdf: 'PBKDF2' | 'scrypt' | 'PBES1';
  readonly work: number;
}

/** The most work psremote lets a key ask for: about 2 s of PBKDF2-HMAC-SHA256 here; scrypt's equivalent. */
export const MAX_KDF_WORK = { PBKDF2: 10_000_000, scrypt: 1 << 22, PBES1: 10_000_000 } as const;

const OID_PBES2 = '2a864886f70d01050d'; // 1.2.840.113549.1.5.13
const OID_PBKDF2 = '2a864886f70d01050c'; // 1.2.840.113549.1.5.12
const OID_SCRYPT = '2b06010401da47040b'; // 1.3.6.1.4.1.11591.4.11
// PBES1 (1.2.840.113549.1.5.x) and PKCS#12 PBE (1.2.840.113549.1.12.1.x): params are SEQUENCE { salt, iterations }.
const PBES1_PREFIXES = ['2a864886f70d0105', '2a864886f70d010c01'];

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OID = 0x06;

function hex(t: Tlv): string {
  return Buffer.from(t.value).toString('hex');
}

/** A non-negative INTEGER; Infinity when it has more than 6 bytes of magnitude (beyond any sane cost). */
function integer(t: Tlv | undefined): number {
  if (!t || t.tag !== INTEGER || t.value.length === 0) throw new Error('not an INTEGER');
  let v = t.value;
  while (v.length > 1 && v[0] === 0) v = v.subarray(1);
  if (v.length > 6) return Number.POSITIVE_INFINITY;
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

function sequence(t: Tlv | undefined): Tlv[] {
  if (!t || t.tag !== SEQUENCE) throw new Error('not a SEQUENCE');
  return readChildren(t.value, 'encrypted private key');
}

/**
 * The cost of decrypting this PEM key, or undefined when it is not a PKCS#8 encrypted key or its form is not one
 * read here (OpenSSL then judges it; a malformed key fails there at once).
 */
export function encryptedKeyCost(keyPem: string): EncryptedKeyCost | undefined {
  if (!keyPem.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')) return undefined;
  const body = keyPem
    .replace(/-----(BEGIN|END) ENCRYPTED PRIVATE KEY-----/g, '')
    .replace(/[^A-Za-z0-9+/=]/g, '');
  try {
    const der = Buffer.from(body, 'base64');
    const [algorithm] = sequence(readTlv(der, 0, 'encrypted private key'));
    const [oid, params] = sequence(algorithm);
    if (!oid || oid.tag !== OID) return undefined;
    const scheme = hex(oid);
    if (scheme === OID_PBES2) {
      const [kdf] = sequence(params);
      const [kdfOid, kdfParams] = sequence(kdf);
      if (!kdfOid || kdfOid.tag !== OID) return undefined;
      const p = sequence(kdfParams);
      if (hex(kdfOid) === OID_PBKDF2) return { kdf: 'PBKDF2', work: integer(p[1]) };
      if (hex(kdfOid) === OID_SCRYPT)
        return { kdf: 'scrypt', work: integer(p[1]) * integer(p[2]) * integer(p[3]) };
      return undefined;
    }
    if (PBES1_PREFIXES.some((prefix) => scheme.startsWith(prefix)))
      return { kdf: 'PBES1', work: integer(sequence(params)[1]) };
    return undefined;
  } catch {
    return undefined;
  }
}
