import { describe, expect, it } from 'vitest';
import { ascii, hex } from './bytes.ts';
import { Rc4, rc4k } from './rc4.ts';

describe('rc4', () => {
  // The classic published vectors (Wikipedia / RFC 6229 style key, plaintext, ciphertext).
  it.each([
    ['Key', 'Plaintext', 'bbf316e8d940af0ad3'],
    ['Wiki', 'pedia', '1021bf0420'],
    ['Secret', 'Attack at dawn', '45a01f645fc35b383552544b9bf5'],
  ])('key %j encrypts %j', (key, plain, cipher) => {
    expect(hex(rc4k(ascii(key), ascii(plain)))).toBe(cipher);
  });

  it('RFC 6229: key 0102030405, key stream at offsets 0 and 16', () => {
    const ks = rc4k(new Uint8Array([1, 2, 3, 4, 5]), new Uint8Array(32));
    expect(hex(ks.subarray(0, 16))).toBe('b2396305f03dc027ccc3524a0a1118a8');
    expect(hex(ks.subarray(16, 32))).toBe('6982944f18fc82d589c403a47a0d0919');
  });

  it('is a stream: two updates equal one update over the concatenation', () => {
    const whole = new Rc4(ascii('Secret')).update(ascii('Attack at dawn'));
    const h = new Rc4(ascii('Secret'));
    const parts = [...h.update(ascii('Attack')), ...h.update(ascii(' at dawn'))];
    expect(hex(new Uint8Array(parts))).toBe(hex(whole));
  });

  it('clone() snapshots the state: the clone continues like the original, unaffected by it', () => {
    const a = new Rc4(ascii('Key'));
    a.update(ascii('xyz'));
    const b = a.clone();
    a.update(ascii('advances only the original'));
    const fresh = new Rc4(ascii('Key'));
    fresh.update(ascii('xyz'));
    expect(hex(b.update(ascii('Plaintext')))).toBe(hex(fresh.update(ascii('Plaintext'))));
  });

  it('rejects an empty key', () => {
    expect(() => new Rc4(new Uint8Array(0))).toThrow(RangeError);
  });
});
