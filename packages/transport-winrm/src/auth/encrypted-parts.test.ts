import { describe, expect, it } from 'vitest';
import { ascii, concatBytes } from './bytes.ts';
import {
  CLOSING_BOUNDARY,
  encryptedContentType,
  isEncryptedContentType,
  partPairHeader,
  sealedAnswerType,
  walkEncryptedParts,
} from './encrypted-parts.ts';

const P = 'application/HTTP-SPNEGO-session-encrypted';
/** A scheme whose encrypted bytes are exactly Length long (the prefix counts nothing). */
const exact = ({ start, length }: { start: number; length: number }) => start + length;

describe('walkEncryptedParts', () => {
  it('reads back what partPairHeader wrote, pair by pair, with the Lengths summed', () => {
    const body = concatBytes(
      partPairHeader(P, 3, 7),
      ascii('abc'),
      partPairHeader(P, 2, 9),
      ascii('de'),
      CLOSING_BOUNDARY,
    );
    const walked = walkEncryptedParts(encryptedContentType(P, 2), body, P, exact);
    expect(walked.parts.map((p) => [p.length, p.prefix, Buffer.from(p.encrypted).toString()])).toEqual([
      [3, 7, 'abc'],
      [2, 9, 'de'],
    ]);
    expect(walked.length).toBe(5);
    expect(walked.originalContentType).toBe('application/soap+xml;charset=UTF-8');
  });

  it('names the chunked form only for more than one pair', () => {
    expect(encryptedContentType(P, 1)).toMatch(/^multipart\/encrypted;/);
    expect(encryptedContentType(P, 2)).toMatch(/^multipart\/x-multi-encrypted;/);
    expect(isEncryptedContentType(encryptedContentType(P, 2))).toBe(true);
    expect(isEncryptedContentType('application/soap+xml;charset=UTF-8')).toBe(false);
  });

  it('refuses a part whose extent runs past the body, or whose Length exceeds its encrypted bytes', () => {
    const body = concatBytes(partPairHeader(P, 3, 0), ascii('abc'), CLOSING_BOUNDARY);
    const ct = encryptedContentType(P, 1);
    expect(() => walkEncryptedParts(ct, body, P, ({ start }) => start + 10_000)).toThrow(/bytes that remain/);
    expect(() => walkEncryptedParts(ct, body, P, ({ start }) => start + 2)).toThrow(
      /Length 3 exceeds its 2 bytes/,
    );
    expect(() => walkEncryptedParts(ct, body, P, exact)).not.toThrow();
  });

  it('refuses a metadata part without its Content-Type', () => {
    const header = Buffer.from(partPairHeader(P, 1, 0))
      .toString('latin1')
      .replace(`\tContent-Type: ${P}\r\n`, '');
    const body = concatBytes(Buffer.from(header, 'latin1'), ascii('x'), CLOSING_BOUNDARY);
    expect(() => walkEncryptedParts(encryptedContentType(P, 1), body, P, exact)).toThrow(
      expect.objectContaining({ errorId: 'WinRMEncryptedBodyInvalid' }),
    );
  });
});

describe('walkEncryptedParts against hostile bodies', () => {
  const ct = encryptedContentType(P, 1);
  const one = (data: string) => concatBytes(partPairHeader(P, data.length, 0), ascii(data), CLOSING_BOUNDARY);
  const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const fromText = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
  const refusal = (f: () => unknown): Error & { errorId?: string } => {
    try {
      f();
    } catch (e) {
      return e as Error & { errorId?: string };
    }
    throw new Error('not refused');
  };

  it('reads Windows (tab-indented, CRLF) and OMI (no tab, an extra CRLF) framing, and bare LF line ends', () => {
    const windows = one('abc');
    const omi = fromText(`${text(windows).replace(/\r\n\t/g, '\r\n')}\r\n`);
    const lf = fromText(text(windows).replace(/\r\n/g, '\n'));
    for (const body of [windows, omi, lf]) {
      const walked = walkEncryptedParts(ct, body, P, exact);
      expect(Buffer.from(walked.parts[0]!.encrypted).toString()).toBe('abc');
    }
  });

  it('is not fooled by the boundary inside the encrypted bytes: the Length says where they end', () => {
    const inside = '--Encrypted Boundary--\r\n--Encrypted Boundary\r\n';
    const walked = walkEncryptedParts(ct, one(inside), P, exact);
    expect(Buffer.from(walked.parts[0]!.encrypted).toString()).toBe(inside);
  });

  it('takes a quoted boundary with an escaped quote, and an unquoted one', () => {
    const b = 'we"ird';
    const body = fromText(text(one('xyz')).replaceAll('Encrypted Boundary', b));
    const quoted = `multipart/encrypted;protocol="${P}";boundary="we\\"ird"`;
    expect(walkEncryptedParts(quoted, body, P, exact).length).toBe(3);
    const plain = fromText(text(one('xyz')).replaceAll('Encrypted Boundary', 'plain'));
    expect(
      walkEncryptedParts(`multipart/encrypted;protocol="${P}";boundary=plain`, plain, P, exact).length,
    ).toBe(3);
  });

  it.each([
    ['a body of 0 bytes', new Uint8Array(0), /expected the boundary/],
    ['only the boundary', ascii('--Encrypted Boundary'), /header line end/],
    [
      'the metadata part only',
      partPairHeader(P, 3, 0).subarray(0, 120),
      /header line end|expected the boundary/,
    ],
    [
      'a truncated encrypted part',
      one('abcdef').subarray(0, partPairHeader(P, 6, 0).length + 2),
      /bytes that remain/,
    ],
    [
      'no closing boundary',
      one('abc').subarray(0, one('abc').length - CLOSING_BOUNDARY.length),
      /not followed/,
    ],
    [
      'a huge declared Length',
      fromText(text(one('abc')).replace('Length=3', 'Length=4294967295')),
      /bytes that remain/,
    ],
    [
      'a Length of 11 digits',
      fromText(text(one('abc')).replace('Length=3', 'Length=99999999999')),
      /valid Length/,
    ],
    ['a negative Length', fromText(text(one('abc')).replace('Length=3', 'Length=-3')), /valid Length/],
    [
      'an extra boundary before the data',
      fromText(text(one('abc')).replace('stream\r\n', 'stream\r\n--Encrypted Boundary\r\n')),
      /not followed|bytes that remain/,
    ],
  ])('refuses %s as WinRMEncryptedBodyInvalid', (_name, body, why) => {
    const e = refusal(() => walkEncryptedParts(ct, body, P, exact));
    expect(e.errorId).toBe('WinRMEncryptedBodyInvalid');
    expect(e.message).toMatch(why);
  });

  it('quotes and escapes what the server wrote: no control sequence reaches the message', () => {
    const body = fromText(
      text(one('abc')).replace(`Content-Type: ${P}`, 'Content-Type: \x1b]0;owned\x07\x9b2J'),
    );
    const e = refusal(() => walkEncryptedParts(ct, body, P, exact));
    expect(e.message).toContain('"\\x1b]0;owned\\x07\\x9b2J"');
    expect(e.message).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    const lengths = fromText(text(one('abc')).replace('Length=3', `Length=\x1b[2J${'9'.repeat(200)}`));
    const e2 = refusal(() => walkEncryptedParts(ct, lengths, P, exact));
    expect(e2.message).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    expect(e2.message.length).toBeLessThan(300);
  });

  describe('200 MB bodies: bounded time, no copy of the data', () => {
    const big = 200 * 1024 * 1024;
    const within = (ms: number, f: () => unknown) => {
      const started = performance.now();
      f();
      expect(performance.now() - started).toBeLessThan(ms);
    };

    it('walks one 200 MB part by its Length, its bytes a view of the body', () => {
      const head = partPairHeader(P, big, 0);
      const body = new Uint8Array(head.length + big + CLOSING_BOUNDARY.length);
      body.set(head);
      body.set(CLOSING_BOUNDARY, head.length + big);
      within(1000, () => {
        const walked = walkEncryptedParts(ct, body, P, exact);
        expect(walked.length).toBe(big);
        expect(walked.parts[0]!.encrypted.buffer).toBe(body.buffer);
      });
    });

    it('refuses 200 MB without a line end, 200 MB of junk after the end, and accepts 200 MB of blank lines', () => {
      const body = new Uint8Array(big).fill(0x41);
      body.set(ascii('--Encrypted Boundary'));
      within(1000, () =>
        expect(refusal(() => walkEncryptedParts(ct, body, P, exact)).message).toMatch(/line end/),
      );
      const done = one('abc');
      body.set(done);
      within(1000, () =>
        expect(refusal(() => walkEncryptedParts(ct, body, P, exact)).message).toMatch(/after the closing/),
      );
      body.fill(0x0a).set(done);
      within(3000, () => expect(walkEncryptedParts(ct, body, P, exact).length).toBe(3));
    });
  });
});

describe('sealedAnswerType', () => {
  const answer = (contentType: string | undefined, body: string) => ({
    lane: 'operation',
    status: 200,
    headers: contentType === undefined ? {} : { 'content-type': contentType },
    body: ascii(body),
  });

  it('gives the Content-Type of either encrypted form, nothing for an empty body, and refuses plaintext', () => {
    expect(sealedAnswerType(answer(encryptedContentType(P, 2), 'x'))).toBe(encryptedContentType(P, 2));
    expect(sealedAnswerType(answer(undefined, ''))).toBeUndefined();
    // The header's name in any case (a proxy or a test may spell it so).
    const spelled = { ...answer(undefined, 'x'), headers: { 'Content-Type': encryptedContentType(P, 1) } };
    expect(sealedAnswerType(spelled)).toBe(encryptedContentType(P, 1));
    expect(() => sealedAnswerType(answer('application/soap+xml;charset=UTF-8', '<s:Envelope/>'))).toThrow(
      expect.objectContaining({
        errorId: 'WinRMEncryptedBodyInvalid',
        message: expect.stringMatching(/HTTP 200 in plaintext \("application\/soap\+xml"\)/),
      }),
    );
  });
});
