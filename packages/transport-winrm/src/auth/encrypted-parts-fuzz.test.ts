import { isPSRemotingError } from '@psremote/core';
import { seededRandom } from '@psremote/core/testing';
import { describe, expect, it } from 'vitest';
import { ascii, concatBytes, u32le } from './bytes.ts';
import { CREDSSP_SESSION_ENCRYPTED, decryptCredsspBody } from './credssp/credssp-encryption.ts';
import type { TlsPipe } from './credssp/tls-pipe.ts';
import { CLOSING_BOUNDARY, encryptedContentType, partPairHeader } from './encrypted-parts.ts';
import { NtlmContext } from './ntlm-context.ts';
import { fakeServer, windowsLikeChallenge } from './testing-fixtures/fake-ntlm-server.ts';
import { connectedTlsPipe, turns } from './testing-fixtures/tls-server.ts';
import { decryptWinrmBody, encryptWinrmBody, type WinrmSecurityContext } from './winrm-encryption.ts';

/**
 * A seeded, deterministic fuzz of the two decryptors over the shared walker: valid sealed bodies, mutated the ways
 * a hostile or broken server (or a man in the middle on HTTP) would, must either decrypt to the original or throw
 * the documented errors (WinRMEncryptedBodyInvalid for the framing, WinRMMessageIntegrity for the seal), never
 * another exception, and quickly.
 */

type Mutation = (b: Uint8Array, r: () => number) => Uint8Array;
const int = (r: () => number, n: number) => Math.floor(r() * n);
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

/** Mutations that keep the body's meaning: a decryptor must still return the original. */
const SAME: Record<string, Mutation> = {
  'LF line ends': (b) => bytes(latin1(b).replace(/\r\n(?=[\t A-Za-z-])/g, '\n')),
  'no tabs': (b) => bytes(latin1(b).replace(/\r\n\t/g, '\r\n')),
  'an extra CRLF at the end (OMI)': (b) => concatBytes(b, ascii('\r\n')),
};

/** Any other mutation: the body may be refused, but only with the documented errors. */
const ANY: Record<string, Mutation> = {
  'flip a byte': (b, r) => {
    const c = b.slice();
    const i = int(r, c.length);
    c[i] = c[i]! ^ (1 << int(r, 8));
    return c;
  },
  'set a byte': (b, r) => {
    const c = b.slice();
    c[int(r, c.length)] = int(r, 256);
    return c;
  },
  truncate: (b, r) => b.slice(0, int(r, b.length)),
  'cut a range out': (b, r) => {
    const i = int(r, b.length);
    return concatBytes(b.subarray(0, i), b.subarray(i + 1 + int(r, 40)));
  },
  'duplicate a range': (b, r) => {
    const i = int(r, b.length);
    const j = Math.min(b.length, i + 1 + int(r, 200));
    return concatBytes(b.subarray(0, j), b.subarray(i, j), b.subarray(j));
  },
  'insert the boundary': (b, r) => {
    const i = int(r, b.length);
    const m = ['--Encrypted Boundary\r\n', '--Encrypted Boundary--\r\n', '-- Encrypted Boundary', '\r\n'][
      int(r, 4)
    ]!;
    return concatBytes(b.subarray(0, i), ascii(m), b.subarray(i));
  },
  'another Length': (b, r) => {
    const n = [0, 1, int(r, 100), 2 ** 31, 4294967295, 9_999_999_999][int(r, 6)]!;
    return bytes(latin1(b).replace(/Length=\d+/, `Length=${n}`));
  },
  'another length prefix': (b, r) => {
    const c = b.slice();
    const at = latin1(c).indexOf('application/octet-stream\r\n') + 26;
    if (at >= 26) c.set(u32le([0, 15, 17, 1024, 1025, 0xffffffff, int(r, 2 ** 32)][int(r, 7)]!), at);
    return c;
  },
  'garbage appended': (b, r) =>
    concatBytes(
      b,
      Uint8Array.from({ length: 1 + int(r, 64) }, () => int(r, 256)),
    ),
  'two mutations': (b, r) => {
    const names = Object.keys(ANY).filter((n) => n !== 'two mutations');
    const first = ANY[names[int(r, names.length)]!]!(b, r);
    return ANY[names[int(r, names.length)]!]!(first, r);
  },
};

/** A fresh NTLM pair: the client context, and the server's side to seal the answers with. */
function ntlmPair(): { ctx: NtlmContext; server: WinrmSecurityContext } {
  const ctx = new NtlmContext({ username: 'DOMAIN\\User', password: 'Password' });
  ctx.negotiate();
  ctx.authenticate(windowsLikeChallenge());
  const s = fakeServer(ctx.sessionKey, ctx.negotiatedFlags);
  return {
    ctx,
    server: {
      wrap: (d) => s.wrap(d),
      unwrap: () => {
        throw new Error('not used');
      },
    },
  };
}

const CLOSE = ascii('--Encrypted Boundary--\r\n');

/** A sealed answer of one part pair, or of several (multipart/x-multi-encrypted), and the SOAP it holds. */
function ntlmCase(r: () => number) {
  const { ctx, server } = ntlmPair();
  const chunks = Array.from(
    { length: 1 + int(r, 3) },
    (_, i) => `<s:Envelope n="${i}">${'x'.repeat(int(r, 300))}</s:Envelope>`,
  );
  const bodies = chunks.map((c) => encryptWinrmBody(server, ascii(c)).body);
  const body = concatBytes(
    ...bodies.map((b, i) => (i < bodies.length - 1 ? b.subarray(0, b.length - CLOSE.length) : b)),
  );
  return {
    ctx,
    contentType: encryptedContentType('application/HTTP-SPNEGO-session-encrypted', bodies.length),
    body,
    soap: chunks.join(''),
  };
}

const DOCUMENTED = new Set(['WinRMEncryptedBodyInvalid', 'WinRMMessageIntegrity']);
/** Per case; generous for a shared 2-core machine, far below what a quadratic scan of a body would take. */
const CASE_MS = 250;

function expectDocumented(e: unknown, label: string): void {
  if (!isPSRemotingError(e) || !DOCUMENTED.has(e.errorId))
    throw new Error(`${label}: not a documented error: ${e instanceof Error ? e.stack : String(e)}`);
  // Worded for a user: no engine internals (OpenSSL's source file and line), no control characters.
  if (/\.c:\d+|deps\/openssl|[\x00-\x1f\x7f-\x9f]/.test(e.message))
    throw new Error(`${label}: a message not for a user: ${JSON.stringify(e.message)}`);
}

describe('decryptWinrmBody under mutation (seeded)', () => {
  it('keeps the meaning of a body whose line ends or indentation change', () => {
    const r = seededRandom(1);
    for (let i = 0; i < 60; i++) {
      const name = Object.keys(SAME)[i % Object.keys(SAME).length]!;
      const c = ntlmCase(r);
      const out = decryptWinrmBody(c.ctx, c.contentType, SAME[name]!(c.body, r));
      expect(Buffer.from(out.data).toString('latin1'), name).toBe(c.soap);
    }
  });

  it('either returns the original or throws a documented error, every case within the time bound', () => {
    const r = seededRandom(0x5eed);
    const names = Object.keys(ANY);
    let refused = 0;
    let intact = 0;
    for (let i = 0; i < 600; i++) {
      const name = names[i % names.length]!;
      const c = ntlmCase(r);
      const mutated = ANY[name]!(c.body, r);
      const started = performance.now();
      try {
        const out = decryptWinrmBody(c.ctx, c.contentType, mutated);
        // Accepted: it must be the very SOAP that was sealed (a flip in the closing boundary's trailing CRLF, say).
        expect(Buffer.from(out.data).toString('latin1'), `case ${i} (${name})`).toBe(c.soap);
        intact++;
      } catch (e) {
        expectDocumented(e, `case ${i} (${name})`);
        refused++;
      }
      expect(performance.now() - started, `case ${i} (${name})`).toBeLessThan(CASE_MS);
    }
    // The mutations do break bodies (the check above is not vacuous), and not every one of them.
    expect(refused).toBeGreaterThan(400);
    expect(intact).toBeGreaterThan(0);
  });
});

describe('decryptCredsspBody under mutation (seeded)', () => {
  /** Stands in for the TLS channel: what it is given must be the records as sealed, asked for the full length. */
  const pipeFor = (records: Uint8Array, length: number) =>
    ({
      unwrap: async (got: Uint8Array, want: number) => {
        if (want !== length || Buffer.compare(Buffer.from(got), Buffer.from(records)) !== 0)
          throw Object.assign(new Error('TLS: bad record MAC'), { tls: true });
        return new Uint8Array(length).fill(0x41);
      },
    }) as unknown as TlsPipe;

  const record = (r: () => number) => {
    const n = 24 + int(r, 200);
    return concatBytes(
      new Uint8Array([0x17, 3, 3, n >> 8, n & 0xff]),
      Uint8Array.from({ length: n }, () => int(r, 256)),
    );
  };

  function credsspCase(r: () => number) {
    const pairs = 1 + int(r, 3);
    const parts: Uint8Array[] = [];
    const all: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < pairs; i++) {
      const recs = concatBytes(...Array.from({ length: 1 + int(r, 2) }, () => record(r)));
      const length = 1 + int(r, recs.length - 24);
      total += length;
      all.push(recs);
      parts.push(
        ascii(
          `--Encrypted Boundary\r\n\tContent-Type: ${CREDSSP_SESSION_ENCRYPTED}\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${length}\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n`,
        ),
        u32le(16),
        recs,
      );
    }
    return {
      contentType: encryptedContentType(CREDSSP_SESSION_ENCRYPTED, pairs),
      body: concatBytes(...parts, CLOSE),
      pipe: pipeFor(concatBytes(...all), total),
      total,
    };
  }

  it('either hands TLS the records as sealed or throws a documented error (or TLS refuses them)', async () => {
    const r = seededRandom(0xc5e);
    const names = [...Object.keys(SAME), ...Object.keys(ANY)];
    let refused = 0;
    for (let i = 0; i < 600; i++) {
      const name = names[i % names.length]!;
      const c = credsspCase(r);
      const mutated = (SAME[name] ?? ANY[name]!)(c.body, r);
      const started = performance.now();
      try {
        const out = await decryptCredsspBody(c.pipe, c.contentType, mutated);
        expect(out.data.length, `case ${i} (${name})`).toBe(c.total);
      } catch (e) {
        if (name in SAME) throw e;
        // A mutated record body is TLS's to refuse (its MAC), as the real pipe would.
        if (!(e as { tls?: boolean }).tls) expectDocumented(e, `case ${i} (${name})`);
        refused++;
      }
      expect(performance.now() - started, `case ${i} (${name})`).toBeLessThan(CASE_MS);
    }
    expect(refused).toBeGreaterThan(300);
  });
});

describe('decryptCredsspBody through real TLS under mutation (seeded)', () => {
  it('either decrypts to the original or throws a documented error, never hangs', async () => {
    const r = seededRandom(0x715);
    const names = [...Object.keys(SAME), ...Object.keys(ANY)];
    let refused = 0;
    let intact = 0;
    for (let i = 0; i < 90; i++) {
      const name = names[i % names.length]!;
      const { pipe, server, wire } = await connectedTlsPipe();
      try {
        // The server seals one or two chunks, each its own part pair, as WinRM does.
        const chunks = Array.from(
          { length: 1 + int(r, 2) },
          (_, k) => `<s:Envelope k="${k}">${'y'.repeat(int(r, 400))}</s:Envelope>`,
        );
        const parts: Uint8Array[] = [];
        for (const c of chunks) {
          server.write(c);
          await turns();
          parts.push(partPairHeader(CREDSSP_SESSION_ENCRYPTED, c.length, 16), wire.drain());
        }
        const body = concatBytes(...parts, CLOSING_BOUNDARY);
        const mutated = (SAME[name] ?? ANY[name]!)(body, r);
        const started = performance.now();
        try {
          const out = await decryptCredsspBody(
            pipe,
            encryptedContentType(CREDSSP_SESSION_ENCRYPTED, chunks.length),
            mutated,
          );
          expect(Buffer.from(out.data).toString('latin1'), `case ${i} (${name})`).toBe(chunks.join(''));
          intact++;
        } catch (e) {
          if (name in SAME) throw e;
          expectDocumented(e, `case ${i} (${name})`);
          refused++;
        }
        expect(performance.now() - started, `case ${i} (${name})`).toBeLessThan(2000);
      } finally {
        pipe.destroy();
        server.destroy();
      }
    }
    expect(refused).toBeGreaterThan(40);
    expect(intact).toBeGreaterThan(10);
  });
});
