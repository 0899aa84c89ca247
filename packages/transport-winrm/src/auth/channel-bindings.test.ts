import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hex } from './bytes.ts';
import { certificateBindingHash, tlsServerEndPointFromCertificate } from './channel-bindings.ts';
import { channelBindingsHash } from './ntlm-crypto.ts';

let haveOpenssl = true;
try {
  execFileSync('openssl', ['version'], { stdio: 'pipe' });
} catch {
  haveOpenssl = false;
  console.warn('[transport-winrm] no openssl: certificate binding-hash tests skipped');
}
const dir = mkdtempSync(join(tmpdir(), 'psremote-cbt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed certificate made by openssl with the given key and signature options, as DER. */
function cert(name: string, args: string[]): Uint8Array {
  const out = join(dir, `${name}.der`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-nodes',
      '-subj',
      '/CN=psremote-test',
      '-days',
      '1',
      '-keyout',
      join(dir, `${name}.key`),
      '-outform',
      'DER',
      '-out',
      out,
      ...args,
    ],
    { stdio: 'pipe' },
  );
  return new Uint8Array(readFileSync(out));
}

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
describe.skipIf(!haveOpenssl)('tls-server-end-point (RFC 5929 4.1)', () => {
  it.each([
    ['ecdsa-with-SHA1 (upgraded)', [...ec, '-sha1'], 'sha256'],
    ['ecdsa-with-SHA256', [...ec, '-sha256'], 'sha256'],
    ['ecdsa-with-SHA384', [...ec, '-sha384'], 'sha384'],
    ['ecdsa-with-SHA512', [...ec, '-sha512'], 'sha512'],
    ['sha384WithRSAEncryption', ['-newkey', 'rsa:1024', '-sha384'], 'sha384'],
    [
      'RSASSA-PSS with SHA-512',
      ['-newkey', 'rsa:1024', '-sha512', '-sigopt', 'rsa_padding_mode:pss'],
      'sha512',
    ],
    ['Ed25519 (no hash: SHA-256)', ['-newkey', 'ed25519'], 'sha256'],
  ])('%s hashes with %s', (name, args, hash) => {
    const der = cert(name.replace(/\W+/g, '-'), args as string[]);
    expect(certificateBindingHash(der)).toBe(hash);
    const appData = tlsServerEndPointFromCertificate(der);
    const digest = createHash(hash as string)
      .update(der)
      .digest();
    expect(hex(appData)).toBe(hex(new Uint8Array([...Buffer.from('tls-server-end-point:'), ...digest])));
  });
});

describe('channel bindings', () => {
  it('MD5 of the gss_channel_bindings_struct: zero addresses, u32le length, application data', () => {
    const appData = new TextEncoder().encode('tls-server-end-point:');
    const expected = createHash('md5')
      .update(Buffer.concat([Buffer.alloc(16), Buffer.from([21, 0, 0, 0]), Buffer.from(appData)]))
      .digest('hex');
    expect(hex(channelBindingsHash(appData))).toBe(expected);
  });

  it('refuses something that is not a certificate', () => {
    expect(() => certificateBindingHash(new Uint8Array([0x30, 0x05, 1]))).toThrow(
      expect.objectContaining({ errorId: 'WinRMAuthTokenInvalid' }),
    );
  });
});
