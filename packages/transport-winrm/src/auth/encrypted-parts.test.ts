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
    expect(() => sealedAnswerType(answer('application/soap+xml;charset=UTF-8', '<s:Envelope/>'))).toThrow(
      expect.objectContaining({
        errorId: 'WinRMEncryptedBodyInvalid',
        message: expect.stringMatching(/HTTP 200 in plaintext \(application\/soap\+xml\)/),
      }),
    );
  });
});
