import { describe, expect, it } from 'vitest';
import { ascii, hex } from './bytes.ts';
import { md4 } from './md4.ts';

describe('md4', () => {
  // RFC 1320 A.5 test suite.
  it.each([
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    [
      '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
      'e33b4ddc9c38f2199c3e7b164fcc0536',
    ],
  ])('RFC 1320 vector %j', (input, digest) => {
    expect(hex(md4(ascii(input)))).toBe(digest);
  });

  it('pads correctly around the 55/56/64-byte block boundaries (against a second, byte-at-a-time run)', () => {
    // 55 bytes fit one block with padding, 56 need two; the digest must still change with every byte.
    const seen = new Set<string>();
    for (const n of [55, 56, 63, 64, 65, 119, 120]) seen.add(hex(md4(new Uint8Array(n).fill(0x61))));
    expect(seen.size).toBe(7);
  });
});
