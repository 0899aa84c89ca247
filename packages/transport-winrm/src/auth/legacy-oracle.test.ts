import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hex } from './bytes.ts';
import { md4 } from './md4.ts';
import { Rc4 } from './rc4.ts';

/**
 * OpenSSL as the oracle for our MD4 and RC4: a child `node --openssl-legacy-provider` (the provider psremote itself
 * must not depend on) hashes and encrypts the same random inputs. Skipped when that Node cannot load the provider.
 */
const ORACLE = `
const c = require('node:crypto');
const { inputs, key, chunks } = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const md4 = inputs.map((h) => c.createHash('md4').update(Buffer.from(h, 'hex')).digest('hex'));
const rc4 = c.createCipheriv('rc4', Buffer.from(key, 'hex'), null);
process.stdout.write(JSON.stringify({ md4, rc4: chunks.map((h) => rc4.update(Buffer.from(h, 'hex')).toString('hex')) }));
`;

function oracle(input: object): { md4: string[]; rc4: string[] } | undefined {
  try {
    const out = execFileSync(process.execPath, ['--openssl-legacy-provider', '-e', ORACLE], {
      input: JSON.stringify(input),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return JSON.parse(out.toString());
  } catch {
    return undefined;
  }
}

const inputs = Array.from({ length: 60 }, (_, i) => new Uint8Array(randomBytes(i * 7 + (i % 3))));
const key = new Uint8Array(randomBytes(16));
const chunks = Array.from({ length: 20 }, (_, i) => new Uint8Array(randomBytes(i * 37 + 1)));
const expected = oracle({ inputs: inputs.map(hex), key: hex(key), chunks: chunks.map(hex) });
if (!expected)
  console.warn('[transport-winrm] node --openssl-legacy-provider unavailable: MD4/RC4 oracle skipped');

describe.skipIf(!expected)('MD4 and RC4 agree with OpenSSL on random inputs', () => {
  it('MD4 of 60 random lengths', () => {
    expect(inputs.map((b) => hex(md4(b)))).toEqual(expected!.md4);
  });

  it('RC4 as one stream over 20 chunks (the handle persists, as across NTLM messages)', () => {
    const h = new Rc4(key);
    expect(chunks.map((c) => hex(h.update(c)))).toEqual(expected!.rc4);
  });
});
