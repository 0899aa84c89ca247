import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromHex, hex } from '../bytes.ts';
import {
  bindingHash,
  CLIENT_TO_SERVER_MAGIC,
  ntstatusText,
  SERVER_TO_CLIENT_MAGIC,
} from './credssp-client.ts';
import { subjectPublicKey, tlsTrailerLength } from './tls-pipe.ts';
import {
  decodeTsCredentials,
  decodeTsRequest,
  derElementLength,
  encodeTsCredentials,
  encodeTsRequest,
  splitUserName,
} from './ts-request.ts';

/**
 * Vectors built by hand from the ASN.1 of MS-CSSP 2.2.1 (X.690 DER): each byte is explained beside it, so a
 * misreading of the spec would have to be made twice to pass.
 */
describe('TSRequest DER (MS-CSSP 2.2.1)', () => {
  it('encodes version 6 with one negoToken exactly as the ASN.1 lays it out', () => {
    const der = encodeTsRequest({ version: 6, negoTokens: [fromHex('aabb')] });
    expect(hex(der)).toBe(
      [
        '3011', // TSRequest SEQUENCE, 17 bytes
        'a003',
        '020106', // [0] version INTEGER 6
        'a10a',
        '3008',
        '3006',
        'a004',
        '0402aabb', // [1] NegoData: SEQUENCE OF SEQUENCE { [0] OCTET STRING }
      ].join(''),
    );
    expect(decodeTsRequest(der)).toEqual({ version: 6, negoTokens: [fromHex('aabb')] });
  });

  it('encodes pubKeyAuth [3], errorCode [4] (an NTSTATUS, unsigned) and clientNonce [5] in tag order', () => {
    const nonce = new Uint8Array(32).fill(7);
    const der = encodeTsRequest({
      version: 5,
      pubKeyAuth: fromHex('01'),
      errorCode: 0xc000006d,
      clientNonce: nonce,
    });
    // 0xC000006D has its top bit set: DER needs a leading zero byte to keep it positive.
    expect(hex(der)).toContain('a3030401' + '01');
    expect(hex(der)).toContain('a4070205' + '00c000006d');
    expect(hex(der)).toContain(`a5220420${'07'.repeat(32)}`);
    expect(decodeTsRequest(der)).toEqual({
      version: 5,
      pubKeyAuth: fromHex('01'),
      errorCode: 0xc000006d,
      clientNonce: nonce,
    });
  });

  it('reads an errorCode sent as a negative INTEGER (a signed NTSTATUS) as the same unsigned value', () => {
    // [4] INTEGER -1073741715 = 0xC000006D in four two's-complement bytes.
    expect(decodeTsRequest(fromHex('300da003020103a4060204c000006d'))).toEqual({
      version: 3,
      errorCode: 0xc000006d,
    });
  });

  it('refuses fields out of order, repeated, or unknown, and a missing version', () => {
    expect(() => decodeTsRequest(fromHex('300aa3030401ffa003020106'))).toThrow(/out of order/);
    expect(() => decodeTsRequest(fromHex('3005a6030401ff'))).toThrow(/unexpected tag/);
    expect(() => decodeTsRequest(fromHex('3005a3030401ff'))).toThrow(/no version/);
    expect(() => decodeTsRequest(fromHex('3010a003020106'))).toThrow(/invalid DER/);
  });

  it('knows when a TSRequest is complete in a stream of plaintext', () => {
    const der = encodeTsRequest({ version: 6, authInfo: new Uint8Array(300) });
    expect(derElementLength(der.subarray(0, 1))).toBe(undefined);
    expect(derElementLength(der.subarray(0, 3))).toBe(undefined); // 30 82 01..: the length needs 4 bytes
    expect(derElementLength(der.subarray(0, 10))).toBe(der.length);
  });
});

describe('TSCredentials / TSPasswordCreds (MS-CSSP 2.2.1.2)', () => {
  it('credType 1 and the three UTF-16LE strings', () => {
    const der = encodeTsCredentials({ domain: 'D', userName: 'u', password: 'p' });
    expect(hex(der)).toBe(
      [
        '301d', // TSCredentials
        'a003',
        '020101', // [0] credType 1 (password)
        'a116',
        '0414', // [1] credentials OCTET STRING holding TSPasswordCreds
        '3012',
        'a0040402' + '4400',
        'a1040402' + '7500',
        'a2040402' + '7000', // 'D', 'u', 'p' in UTF-16LE
      ].join(''),
    );
    expect(decodeTsCredentials(der)).toEqual({ domain: 'D', userName: 'u', password: 'p' });
  });

  it('splits DOMAIN\\user; a UPN or a bare name keeps an empty domain', () => {
    expect(splitUserName('PSREMOTE\\psuser')).toEqual({ domain: 'PSREMOTE', userName: 'psuser' });
    expect(splitUserName('psuser@psremote.test')).toEqual({ domain: '', userName: 'psuser@psremote.test' });
    expect(splitUserName('psuser')).toEqual({ domain: '', userName: 'psuser' });
  });
});

describe('the public-key binding (MS-CSSP 3.1.5)', () => {
  it('takes the BIT STRING content of SubjectPublicKeyInfo: for RSA, the PKCS#1 RSAPublicKey', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const pkcs1 = new Uint8Array(publicKey.export({ type: 'pkcs1', format: 'der' }));
    expect(hex(subjectPublicKey(spki))).toBe(hex(pkcs1));
    expect(() => subjectPublicKey(fromHex('0400'))).toThrow(/public key/);
  });

  it('the version 5+ hashes: SHA-256 over the NUL-terminated magic, the nonce and the key', () => {
    const nonce = new Uint8Array(32).fill(1);
    const key = fromHex('3082010a');
    const want = createHash('sha256')
      .update(Buffer.from('CredSSP Client-To-Server Binding Hash\0', 'latin1'))
      .update(nonce)
      .update(key)
      .digest('hex');
    expect(hex(bindingHash(CLIENT_TO_SERVER_MAGIC, nonce, key))).toBe(want);
    expect(CLIENT_TO_SERVER_MAGIC).toHaveLength(38);
    expect(SERVER_TO_CLIENT_MAGIC.endsWith('\0')).toBe(true);
    expect(hex(bindingHash(SERVER_TO_CLIENT_MAGIC, nonce, key))).not.toBe(want);
  });

  it('names the NTSTATUS of a refused logon', () => {
    expect(ntstatusText(0xc000006d)).toBe('0xC000006D (STATUS_LOGON_FAILURE)');
    expect(ntstatusText(0x12)).toBe('0x00000012');
  });
});

describe('the TLS trailer of a CredSSP-encrypted part (SecPkgContext_StreamSizes.cbTrailer)', () => {
  it('AEAD suites: the 16-byte tag; CBC: the MAC and the padding to the block', () => {
    expect(tlsTrailerLength(1000, 'ECDHE-RSA-AES256-GCM-SHA384')).toBe(16);
    expect(tlsTrailerLength(1000, 'ECDHE-RSA-CHACHA20-POLY1305')).toBe(16);
    // AES-CBC with SHA-1: 1000 + 20 = 1020, padded to 1024: trailer 24.
    expect(tlsTrailerLength(1000, 'ECDHE-RSA-AES128-SHA')).toBe(24);
    // SHA-256 MAC: 1000 + 32 = 1032, padded to 1040: trailer 40.
    expect(tlsTrailerLength(1000, 'AES128-SHA256')).toBe(40);
  });
});
