import { describe, expect, it } from 'vitest';
import { ascii, concatBytes } from './bytes.ts';
import { NtlmContext } from './ntlm-context.ts';
import { fakeServer, windowsLikeChallenge } from './testing-fixtures/fake-ntlm-server.ts';
import {
  decryptWinrmBody,
  encryptWinrmBody,
  parseContentType,
  SPNEGO_SESSION_ENCRYPTED,
  type WinrmSecurityContext,
} from './winrm-encryption.ts';

const CT =
  'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"';
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function pair() {
  const ctx = new NtlmContext({ username: 'DOMAIN\\User', password: 'Password' });
  ctx.negotiate();
  ctx.authenticate(windowsLikeChallenge());
  const server = fakeServer(ctx.sessionKey, ctx.negotiatedFlags);
  /** The server's side as a WinrmSecurityContext, so the same builder makes response bodies. */
  const serverCtx: WinrmSecurityContext = {
    wrap: (d) => server.wrap(d),
    unwrap: (h, d) => {
      const r = server.unwrap(h, d);
      if (!r.ok) throw new Error('server: bad signature');
      return r.plain;
    },
  };
  return { ctx, serverCtx };
}

describe('encryptWinrmBody (MS-WSMV 2.2.9.1.1)', () => {
  it('lays out the two parts exactly: tabs, CRLFs, u32le 16, signature, sealed bytes, closing boundary', () => {
    const { ctx, serverCtx } = pair();
    const soap = enc('<s:Envelope>héllo</s:Envelope>');
    const { contentType, body } = encryptWinrmBody(ctx, soap);
    expect(contentType).toBe(CT);
    const head =
      '--Encrypted Boundary\r\n' +
      '\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n' +
      `\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${soap.length}\r\n` +
      '--Encrypted Boundary\r\n' +
      '\tContent-Type: application/octet-stream\r\n';
    expect(Buffer.from(body.subarray(0, head.length)).toString('latin1')).toBe(head);
    expect([...body.subarray(head.length, head.length + 4)]).toEqual([16, 0, 0, 0]);
    const tail = '--Encrypted Boundary--\r\n';
    expect(Buffer.from(body.subarray(body.length - tail.length)).toString('latin1')).toBe(tail);
    expect(body.length).toBe(head.length + 4 + 16 + soap.length + tail.length);
    // The server side unseals it.
    const sig = body.subarray(head.length + 4, head.length + 20);
    const sealed = body.subarray(head.length + 20, head.length + 20 + soap.length);
    expect(dec(serverCtx.unwrap(sig, sealed))).toBe('<s:Envelope>héllo</s:Envelope>');
  });
});

describe('decryptWinrmBody', () => {
  it('decrypts a response and keeps verifying sequence numbers across bodies', () => {
    const { ctx, serverCtx } = pair();
    for (const text of ['<a/>', '<b>second</b>', '']) {
      const r = encryptWinrmBody(serverCtx, enc(text));
      const out = decryptWinrmBody(ctx, r.contentType, r.body);
      expect(dec(out.data)).toBe(text);
      expect(out.originalContentType).toBe('application/soap+xml;charset=UTF-8');
    }
  });

  it('accepts the chunked multipart/x-multi-encrypted form and "-- Encrypted Boundary" with a space', () => {
    const { ctx, serverCtx } = pair();
    const a = encryptWinrmBody(serverCtx, enc('<first half '));
    const b = encryptWinrmBody(serverCtx, enc('second half/>'));
    const close = ascii('--Encrypted Boundary--\r\n');
    const multi = concatBytes(a.body.subarray(0, a.body.length - close.length), b.body);
    const ct = CT.replace('multipart/encrypted', 'multipart/x-multi-encrypted');
    expect(dec(decryptWinrmBody(ctx, ct, multi).data)).toBe('<first half second half/>');
    const spaced = encryptWinrmBody(serverCtx, enc('<c/>'));
    const text = Buffer.from(spaced.body)
      .toString('latin1')
      .replaceAll('--Encrypted Boundary', '-- Encrypted Boundary');
    expect(dec(decryptWinrmBody(ctx, CT, new Uint8Array(Buffer.from(text, 'latin1'))).data)).toBe('<c/>');
  });

  it('parses Content-Type parameters in any case, quoted or not', () => {
    const p = parseContentType('Multipart/Encrypted; Protocol="a;b"; boundary=Encrypted Boundary');
    expect(p.type).toBe('multipart/encrypted');
    expect(p.params.get('protocol')).toBe('a;b');
    expect(p.params.get('boundary')).toBe('Encrypted');
  });

  /** A valid response body as text (latin1), to be broken in one place per case. */
  function broken(f: (s: string) => string, ct = CT) {
    const { ctx, serverCtx } = pair();
    const r = encryptWinrmBody(serverCtx, enc('<ok/>'));
    const body = new Uint8Array(Buffer.from(f(Buffer.from(r.body).toString('latin1')), 'latin1'));
    return () => decryptWinrmBody(ctx, ct, body);
  }

  it.each([
    [
      'a plain SOAP content type',
      () => broken((s) => s, 'application/soap+xml;charset=UTF-8'),
      /not multipart\/encrypted/,
    ],
    ['another protocol', () => broken((s) => s, CT.replace('SPNEGO', 'CredSSP')), /protocol/],
    [
      'no boundary parameter',
      () => broken((s) => s, CT.replace(';boundary="Encrypted Boundary"', '')),
      /no boundary/,
    ],
    ['Length beyond the body', () => broken((s) => s.replace('Length=5', 'Length=99999')), /exceeds/],
    [
      'Length shorter than the data',
      () => broken((s) => s.replace('Length=5', 'Length=4')),
      /not followed by the boundary/,
    ],
    ['no Length', () => broken((s) => s.replace(';Length=5', '')), /without a valid Length/],
    [
      'a huge signature length',
      () => broken((s) => s.replace('\x10\x00\x00\x00', '\xff\xff\x00\x00')),
      /signature length/,
    ],
    ['no closing boundary', () => broken((s) => s.replace('--Encrypted Boundary--\r\n', '')), /not followed/],
    ['bytes after the end', () => broken((s) => `${s}junk`), /after the closing boundary/],
    [
      'two pairs in multipart/encrypted',
      () => broken((s) => s.replace(/--\r\n$/, '\r\n') + s),
      /one part pair/,
    ],
    [
      'wrong metadata type',
      () => broken((s) => s.replace('\tContent-Type: application/HTTP', '\tContent-Type: text/HTTP')),
      /metadata Content-Type/,
    ],
    [
      'no header line end',
      () => broken((s) => s.replace('\r\n', ' '.repeat(2000))),
      /header line end|text after/,
    ],
    [
      'octet-stream header wrong',
      () => broken((s) => s.replace('application/octet-stream', 'text/plain')),
      /encrypted part header/,
    ],
  ])('%s: WinRMEncryptedBodyInvalid', (_, make, message) => {
    let caught: unknown;
    try {
      make()();
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ errorId: 'WinRMEncryptedBodyInvalid' });
    expect((caught as Error).message).toMatch(message);
  });

  it('a tampered sealed byte fails the signature check (WinRMMessageIntegrity)', () => {
    const { ctx, serverCtx } = pair();
    const r = encryptWinrmBody(serverCtx, enc('<ok/>'));
    r.body[r.body.length - 26]! ^= 0x01;
    expect(() => decryptWinrmBody(ctx, r.contentType, r.body)).toThrow(
      expect.objectContaining({ errorId: 'WinRMMessageIntegrity' }),
    );
  });

  it('the default protocol is the SPNEGO one', () => {
    expect(SPNEGO_SESSION_ENCRYPTED).toBe('application/HTTP-SPNEGO-session-encrypted');
  });
});
