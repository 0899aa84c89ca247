import { describe, expect, it } from 'vitest';
import { authorizationHeader, challengeToken, findChallenge, parseWwwAuthenticate } from './http-auth.ts';

describe('HTTP auth headers', () => {
  it('Authorization: scheme and base64 token', () => {
    expect(authorizationHeader('Negotiate', new Uint8Array([0x4e, 0x54, 0x4c]))).toBe('Negotiate TlRM');
    expect(authorizationHeader('NTLM', new Uint8Array([1, 2]))).toBe('NTLM AQI=');
  });

  it("reads WinRM's first 401: several schemes, Basic's quoted realm with a comma", () => {
    expect(
      parseWwwAuthenticate(['Negotiate', 'Basic realm="WSMAN, x", charset="UTF-8"', 'Kerberos']),
    ).toEqual([{ scheme: 'Negotiate' }, { scheme: 'Basic' }, { scheme: 'Kerberos' }]);
    expect(parseWwwAuthenticate('Negotiate, Basic realm="WSMAN", Kerberos').map((c) => c.scheme)).toEqual([
      'Negotiate',
      'Basic',
      'Kerberos',
    ]);
  });

  it('reads a token68 and finds it by scheme, case-insensitively', () => {
    const h = 'Basic realm=WSMAN, negotiate oRswGaADCgEAoxIEEAEAAAAB8IpVOnhm0gAAAAA=';
    const t = challengeToken(h, 'Negotiate');
    expect(Buffer.from(t!).toString('hex')).toBe(
      'a11b3019a0030a0100a3120410010000000' + '1f08a553a7866d200000000',
    );
    expect(challengeToken('Negotiate', 'Negotiate')).toBeUndefined();
    expect(findChallenge(undefined, 'Negotiate')).toBeUndefined();
    expect(findChallenge(['Basic realm="x"', 'NTLM TlRM'], 'NTLM')?.token).toEqual(
      new Uint8Array([0x4e, 0x54, 0x4c]),
    );
  });

  it('refuses a missing scheme, a non-base64 token, an unterminated quote', () => {
    expect(() => challengeToken('Basic realm="x"', 'Negotiate')).toThrow(
      expect.objectContaining({ errorId: 'WinRMAuthRejected' }),
    );
    expect(() => parseWwwAuthenticate('Negotiate abc')).toThrow(/not base64/);
    expect(() => parseWwwAuthenticate('Basic realm="x')).toThrow(/unterminated/);
    expect(() => parseWwwAuthenticate('x'.repeat(0x30000))).toThrow(/over-long/);
  });
});
