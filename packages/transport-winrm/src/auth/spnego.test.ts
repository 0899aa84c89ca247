import { describe, expect, it } from 'vitest';
import { fromHex, hex } from './bytes.ts';
import { readTlv, tlv } from './der.ts';
import {
  encodeNegTokenInit,
  encodeNegTokenResp,
  MECH_TYPES,
  NegState,
  NTLMSSP_OID,
  parseNegTokenResp,
  SpnegoNtlm,
} from './spnego.ts';
import { fakeServer, windowsLikeChallenge } from './testing-fixtures/fake-ntlm-server.ts';

const creds = { username: 'DOMAIN\\User', password: 'Password' };

describe('SPNEGO DER', () => {
  it('NegTokenInit: [APPLICATION 0] { SPNEGO OID, [0] { [0] mechTypes [NTLMSSP], [2] mechToken } }', () => {
    expect(hex(encodeNegTokenInit(fromHex('aabb')))).toBe(
      '6022' +
        '06062b0601050502' +
        'a018' +
        '3016' +
        'a00e' +
        '300c060a2b06010401823702020a' +
        'a204' +
        '0402aabb',
    );
    expect(hex(MECH_TYPES)).toBe('300c060a2b06010401823702020a');
  });

  it('long lengths: 0x81 and 0x82 forms round-trip through the reader', () => {
    for (const n of [127, 128, 255, 256, 40000]) {
      const t = tlv(0x04, new Uint8Array(n));
      const r = readTlv(t, 0, 'x');
      expect(r.value.length).toBe(n);
      expect(r.end).toBe(t.length);
    }
  });

  it("parses gss-ntlmssp's final NegTokenResp (accept-completed + mechListMIC)", () => {
    const r = parseNegTokenResp(
      new Uint8Array(Buffer.from('oRswGaADCgEAoxIEEAEAAAAB8IpVOnhm0gAAAAA=', 'base64')),
    );
    expect(r.negState).toBe(NegState.acceptCompleted);
    expect(hex(r.mechListMIC!)).toBe('0100000001f08a553a7866d200000000');
    expect(r.responseToken).toBeUndefined();
  });

  it('round-trips every NegTokenResp field', () => {
    const r = {
      negState: 1,
      supportedMech: NTLMSSP_OID,
      responseToken: fromHex('01'),
      mechListMIC: fromHex('02'),
    };
    expect(parseNegTokenResp(encodeNegTokenResp(r))).toEqual(r);
  });

  const resp = (body: string) => fromHex(body);
  it.each([
    ['empty', '', /truncated/],
    ['a NegTokenInit instead', '6000', /expected a NegTokenResp/],
    ['length past the end', 'a1053007a00100', /exceeds/],
    ['indefinite length', 'a18030000000', /indefinite/],
    ['a 4-byte length', 'a18400000001' + '00', /4-byte length/],
    ['trailing bytes', 'a1023000ff', /trailing/],
    ['fields out of order', 'a10a3008a2020400a0020a01', /out-of-order|one value/],
    ['negState of two bytes', 'a1083006a0040a020000', /one-byte ENUMERATED/],
    ['a field holding the wrong type', 'a1073005a0030401ff', /expected 0xa/],
    ['unknown field [5]', 'a1063004a5020400', /unexpected/],
    ['nested length overflow', 'a1073005a2030404ff', /exceeds/],
  ])('%s: WinRMAuthTokenInvalid', (_, h, m) => {
    let caught: unknown;
    try {
      parseNegTokenResp(resp(h));
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ errorId: 'WinRMAuthTokenInvalid' });
    expect((caught as Error).message).toMatch(m);
  });
});

/** Drives a SpnegoNtlm through the first two legs against a scripted server; returns both sides. */
function twoLegs(firstReply?: Uint8Array) {
  const ctx = new SpnegoNtlm(creds);
  ctx.initialToken();
  const challenge = windowsLikeChallenge();
  const out = ctx.step(
    firstReply ??
      encodeNegTokenResp({
        negState: NegState.acceptIncomplete,
        supportedMech: NTLMSSP_OID,
        responseToken: challenge,
      }),
  )!;
  return { ctx, out, server: fakeServer(ctx.ntlm.sessionKey, ctx.ntlm.negotiatedFlags) };
}

describe('SpnegoNtlm', () => {
  it('sends AUTHENTICATE with a mechListMIC, verifies the server one, then seals from sequence 1', () => {
    const { ctx, out, server } = twoLegs();
    const r = parseNegTokenResp(out);
    expect(r.negState).toBeUndefined();
    expect(hex(r.responseToken!.subarray(0, 12))).toBe('4e544c4d5353500003000000');
    expect(server.verifyClientMic(MECH_TYPES, r.mechListMIC!)).toBe(true);
    expect(ctx.established).toBe(false);
    expect(
      ctx.step(encodeNegTokenResp({ negState: 0, mechListMIC: server.mechListMic(MECH_TYPES) })),
    ).toBeUndefined();
    expect(ctx.established).toBe(true);
    // MS-SPNG 3.3.5.1: same RC4 state as the mechListMIC, next sequence number.
    const w = ctx.wrap(new TextEncoder().encode('soap'));
    expect(hex(w.header.subarray(12))).toBe('01000000');
    expect(server.unwrap(w.header, w.data).ok).toBe(true);
    const a = server.wrap(new TextEncoder().encode('answer'));
    expect(new TextDecoder().decode(ctx.unwrap(a.header, a.data))).toBe('answer');
  });

  it('refuses a missing or wrong server mechListMIC', () => {
    const first = twoLegs();
    expect(() => first.ctx.step(encodeNegTokenResp({ negState: 0 }))).toThrow(
      expect.objectContaining({ errorId: 'WinRMMessageIntegrity' }),
    );
    const { ctx, server } = twoLegs();
    const mic = server.mechListMic(MECH_TYPES);
    mic[6]! ^= 1;
    expect(() => ctx.step(encodeNegTokenResp({ negState: 0, mechListMIC: mic }))).toThrow(/does not verify/);
  });

  it('reports reject as WinRMAuthRejected, at either leg', () => {
    const ctx = new SpnegoNtlm(creds);
    ctx.initialToken();
    expect(() => ctx.step(encodeNegTokenResp({ negState: NegState.reject }))).toThrow(
      expect.objectContaining({ errorId: 'WinRMAuthRejected' }),
    );
    const t = twoLegs();
    expect(() => t.ctx.step(encodeNegTokenResp({ negState: NegState.reject }))).toThrow(
      expect.objectContaining({ errorId: 'WinRMAuthRejected' }),
    );
  });

  it('refuses another mechanism, a missing challenge, and a bare NTLM answer to SPNEGO', () => {
    const krb5 = fromHex('06092a864886f712010202');
    expect(() =>
      twoLegs(encodeNegTokenResp({ negState: 1, supportedMech: krb5, responseToken: fromHex('00') })),
    ).toThrow(expect.objectContaining({ errorId: 'WinRMAuthUnsupported' }));
    expect(() => twoLegs(encodeNegTokenResp({ negState: 1, supportedMech: NTLMSSP_OID }))).toThrow(
      /no NTLM CHALLENGE/,
    );
    expect(() => twoLegs(windowsLikeChallenge())).toThrow(/bare NTLM token/);
  });

  it('raw mode: bare NTLMSSP tokens both ways, established after AUTHENTICATE', () => {
    const ctx = new SpnegoNtlm(creds, { mode: 'ntlm' });
    expect(hex(ctx.initialToken().subarray(0, 8))).toBe('4e544c4d53535000');
    const auth = ctx.step(windowsLikeChallenge())!;
    expect(hex(auth.subarray(8, 12))).toBe('03000000');
    expect(ctx.established).toBe(true);
    const w = ctx.wrap(new Uint8Array([1]));
    expect(hex(w.header.subarray(12))).toBe('00000000');
    expect(() => ctx.step(new Uint8Array([1]))).toThrow(/after AUTHENTICATE/);
  });
});

describe('SpnegoNtlm without an NTLM MIC (a server that sends no MsvAvTimestamp)', () => {
  it('accepts accept-completed without a mechListMIC, but still verifies one that is sent', () => {
    const noTimestamp = windowsLikeChallenge({
      pairs: [
        { id: 2, value: new Uint8Array([0x44, 0]) },
        { id: 1, value: new Uint8Array([0x53, 0]) },
      ],
    });
    const reply = encodeNegTokenResp({ negState: 1, supportedMech: NTLMSSP_OID, responseToken: noTimestamp });
    const a = twoLegs(reply);
    expect(a.ctx.ntlm.micPresent).toBe(false);
    expect(a.ctx.step(encodeNegTokenResp({ negState: 0 }))).toBeUndefined();
    expect(a.ctx.established).toBe(true);
    const b = twoLegs(reply);
    const mic = b.server.mechListMic(MECH_TYPES);
    mic[4]! ^= 1;
    expect(() => b.ctx.step(encodeNegTokenResp({ negState: 0, mechListMIC: mic }))).toThrow(
      /does not verify/,
    );
  });
});
