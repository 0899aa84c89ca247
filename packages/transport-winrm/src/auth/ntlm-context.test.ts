import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, hex, utf16le } from './bytes.ts';
import { NtlmContext, splitUsername } from './ntlm-context.ts';
import {
  channelBindingsHash,
  computeNtlmv2Response,
  hmacMd5,
  ntowfv2,
  sealKey,
  signKey,
} from './ntlm-crypto.ts';
import { AvId, MIC_OFFSET, NtlmFlags, parseAvPairs, parseChallenge } from './ntlm-messages.ts';
import { rc4k } from './rc4.ts';
import { fakeServer, windowsLikeChallenge } from './testing-fixtures/fake-ntlm-server.ts';

// MS-NLMP 4.2.1 common values and 4.2.4 (NTLMv2) results.
const SERVER_CHALLENGE = fromHex('0123456789abcdef');
// MS-NLMP 4.2.4.3, row by row as the spec prints them.
const CHALLENGE_MESSAGE = fromHex(`
  4e 54 4c 4d 53 53 50 00 02 00 00 00 0c 00 0c 00
  38 00 00 00 33 82 8a e2 01 23 45 67 89 ab cd ef
  00 00 00 00 00 00 00 00 24 00 24 00 44 00 00 00
  06 00 70 17 00 00 00 0f 53 00 65 00 72 00 76 00
  65 00 72 00 02 00 0c 00 44 00 6f 00 6d 00 61 00
  69 00 6e 00 01 00 0c 00 53 00 65 00 72 00 76 00
  65 00 72 00 00 00 00 00`);
const AUTHENTICATE_MESSAGE = fromHex(`
  4e 54 4c 4d 53 53 50 00 03 00 00 00 18 00 18 00
  6c 00 00 00 54 00 54 00 84 00 00 00 0c 00 0c 00
  48 00 00 00 08 00 08 00 54 00 00 00 10 00 10 00
  5c 00 00 00 10 00 10 00 d8 00 00 00 35 82 88 e2
  05 01 28 0a 00 00 00 0f 44 00 6f 00 6d 00 61 00
  69 00 6e 00 55 00 73 00 65 00 72 00 43 00 4f 00
  4d 00 50 00 55 00 54 00 45 00 52 00 86 c3 50 97
  ac 9c ec 10 25 54 76 4a 57 cc cc 19 aa aa aa aa
  aa aa aa aa 68 cd 0a b8 51 e5 1c 96 aa bc 92 7b
  eb ef 6a 1c 01 01 00 00 00 00 00 00 00 00 00 00
  00 00 00 00 aa aa aa aa aa aa aa aa 00 00 00 00
  02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00
  01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00
  00 00 00 00 00 00 00 00 c5 da d2 54 4f c9 79 90
  94 ce 1c e9 0b c9 d0 3e`);
const XP_VERSION = fromHex('0501280a0000000f');

/** The fixed nonces of MS-NLMP 4.2.1: ClientChallenge aa×8, RandomSessionKey 55×16; Time zero. */
function specContext(extra: { targetName?: string } = {}): NtlmContext {
  return new NtlmContext(
    { username: 'Domain\\User', password: 'Password' },
    {
      workstation: 'COMPUTER',
      version: XP_VERSION,
      randomBytes: (n) => new Uint8Array(n).fill(n === 8 ? 0xaa : 0x55),
      currentTime: () => new Uint8Array(8),
      ...extra,
    },
  );
}

describe('NTLMv2 against MS-NLMP 4.2.4', () => {
  it('NTOWFv2("Password", "User", "Domain")', () => {
    expect(hex(ntowfv2('Password', 'User', 'Domain'))).toBe('0c868a403bfd7a93a3001ef22ef02e3f');
  });

  it('NTProofStr, LMv2 response and SessionBaseKey (4.2.4.1.2, 4.2.4.2)', () => {
    const ti = parseChallenge(CHALLENGE_MESSAGE).targetInfoBytes;
    const r = computeNtlmv2Response(
      ntowfv2('Password', 'User', 'Domain'),
      SERVER_CHALLENGE,
      fromHex('aaaaaaaaaaaaaaaa'),
      new Uint8Array(8),
      ti,
    );
    expect(hex(r.ntProofStr)).toBe('68cd0ab851e51c96aabc927bebef6a1c');
    expect(hex(r.lmChallengeResponse)).toBe('86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
    expect(hex(r.sessionBaseKey)).toBe('8de40ccadbc14a82f15cb0ad0de95ca3');
    expect(hex(rc4k(r.sessionBaseKey, new Uint8Array(16).fill(0x55)))).toBe(
      'c5dad2544fc9799094ce1ce90bc9d03e',
    );
  });

  it('parses the CHALLENGE_MESSAGE of 4.2.4.3', () => {
    const c = parseChallenge(CHALLENGE_MESSAGE);
    expect(c.flags >>> 0).toBe(0xe28a8233);
    expect(hex(c.serverChallenge)).toBe('0123456789abcdef');
    expect(c.targetName).toBe('Server');
    expect(c.targetInfo.map((p) => p.id)).toEqual([AvId.NbDomainName, AvId.NbComputerName]);
  });

  it('produces the AUTHENTICATE_MESSAGE of 4.2.4.3 byte for byte', () => {
    const ctx = specContext();
    ctx.negotiate();
    expect(hex(ctx.authenticate(CHALLENGE_MESSAGE))).toBe(hex(AUTHENTICATE_MESSAGE));
    expect(ctx.negotiatedFlags >>> 0).toBe(0xe2888235);
    expect(ctx.micPresent).toBe(false);
    expect(hex(ctx.sessionKey)).toBe('55'.repeat(16));
  });

  it('seals "Plaintext" into 54e50165… with the signature of 4.2.4.4', () => {
    const ctx = specContext();
    ctx.negotiate();
    ctx.authenticate(CHALLENGE_MESSAGE);
    const { header, data } = ctx.wrap(utf16le('Plaintext'));
    expect(hex(data)).toBe('54e50165bf1936dc996020c1811b0f06fb5f');
    expect(hex(header)).toBe('010000007fb38ec5c55d497600000000');
    expect(hex(sealKey(0xe2888235, new Uint8Array(16).fill(0x55), 'client'))).toBe(
      '59f600973cc4960a25480a7c196e4c58',
    );
    expect(hex(signKey(new Uint8Array(16).fill(0x55), 'client'))).toBe('4788dc861b4782f35d43fd98fe1a2d39');
  });
});

describe('NtlmContext', () => {
  it('NEGOTIATE carries 0xe2888235, no domain or workstation, and the version', () => {
    const n = specContext().negotiate();
    expect(hex(n)).toBe(`4e544c4d5353500001000000358288e2${'0000000028000000'.repeat(2)}0501280a0000000f`);
  });

  it('with MsvAvTimestamp: Z(24) LM response, MsvAvFlags MIC bit, a MIC over the three messages', () => {
    const ctx = specContext();
    const negotiate = ctx.negotiate();
    const challenge = windowsLikeChallenge();
    const auth = ctx.authenticate(challenge);
    expect(ctx.micPresent).toBe(true);
    const v = new DataView(auth.buffer);
    const lmLen = v.getUint16(12, true);
    const lmOff = v.getUint32(16, true);
    expect(hex(auth.subarray(lmOff, lmOff + lmLen))).toBe('00'.repeat(24));
    expect(v.getUint32(28 + 4, true)).toBe(88); // the payload starts after the MIC
    // The NTLMv2 response's AV pairs: the server's, with MsvAvFlags = 2 added before EOL, the timestamp as Time.
    const ntLen = v.getUint16(20, true);
    const ntOff = v.getUint32(24, true);
    const nt = auth.subarray(ntOff, ntOff + ntLen);
    expect(hex(nt.subarray(24, 32))).toBe('0090d336b734c301');
    const pairs = parseAvPairs(nt.subarray(44, nt.length - 4));
    expect(pairs.map((p) => p.id)).toEqual([2, 1, 3, 7, AvId.Flags]);
    expect(hex(pairs[4]!.value)).toBe('02000000');
    // MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE ‖ CHALLENGE ‖ AUTHENTICATE with the MIC zeroed).
    const zeroed = auth.slice();
    zeroed.fill(0, MIC_OFFSET, MIC_OFFSET + 16);
    expect(hex(auth.subarray(MIC_OFFSET, MIC_OFFSET + 16))).toBe(
      hex(hmacMd5(ctx.sessionKey, negotiate, challenge, zeroed)),
    );
  });

  it('adds MsvAvChannelBindings = MD5(gss_channel_bindings_struct) and MsvAvTargetName when given', () => {
    const ctx = specContext({ targetName: 'HTTP/server.domain.test' });
    ctx.negotiate();
    const appData = new TextEncoder().encode('tls-server-end-point:abc');
    const auth = ctx.authenticate(windowsLikeChallenge(), { channelBindings: appData });
    const v = new DataView(auth.buffer);
    const nt = auth.subarray(v.getUint32(24, true), v.getUint32(24, true) + v.getUint16(20, true));
    const pairs = parseAvPairs(nt.subarray(44, nt.length - 4));
    const cb = pairs.find((p) => p.id === AvId.ChannelBindings)!;
    // 16 zero bytes of addresses, u32 LE length, the data (RFC 2744 3.11).
    expect(hex(cb.value)).toBe(hex(channelBindingsHash(appData)));
    expect(hex(channelBindingsHash(appData))).toBe(
      hex(
        new Uint8Array(
          createHash('md5')
            .update(concatBytes(new Uint8Array(16), new Uint8Array([24, 0, 0, 0]), appData))
            .digest(),
        ),
      ),
    );
    expect(new TextDecoder('utf-16le').decode(pairs.find((p) => p.id === AvId.TargetName)!.value)).toBe(
      'HTTP/server.domain.test',
    );
  });

  it('wraps and unwraps against an independently derived server side, with sequence numbers both ways', () => {
    const ctx = specContext();
    ctx.negotiate();
    ctx.authenticate(windowsLikeChallenge());
    const server = fakeServer(ctx.sessionKey, ctx.negotiatedFlags);
    for (let i = 0; i < 3; i++) {
      const msg = new TextEncoder().encode(`request ${i}`);
      const w = ctx.wrap(msg);
      expect(hex(w.header.subarray(12))).toBe(hex(new Uint8Array([i, 0, 0, 0])));
      const r = server.unwrap(w.header, w.data);
      expect(r.ok).toBe(true);
      expect(new TextDecoder().decode(r.plain)).toBe(`request ${i}`);
      const answer = server.wrap(new TextEncoder().encode(`answer ${i}`));
      expect(new TextDecoder().decode(ctx.unwrap(answer.header, answer.data))).toBe(`answer ${i}`);
    }
  });

  it('rejects a tampered byte, a tampered signature, and a replayed message', () => {
    const make = () => {
      const ctx = specContext();
      ctx.negotiate();
      ctx.authenticate(windowsLikeChallenge());
      return { ctx, server: fakeServer(ctx.sessionKey, ctx.negotiatedFlags) };
    };
    let { ctx, server } = make();
    let a = server.wrap(new TextEncoder().encode('answer'));
    a.data[2]! ^= 1;
    expect(() => ctx.unwrap(a.header, a.data)).toThrow(
      expect.objectContaining({ errorId: 'WinRMMessageIntegrity' }),
    );
    ({ ctx, server } = make());
    a = server.wrap(new TextEncoder().encode('answer'));
    a.header[5]! ^= 1;
    expect(() => ctx.unwrap(a.header, a.data)).toThrow(/does not verify/);
    ({ ctx, server } = make());
    server.wrap(new TextEncoder().encode('first, never delivered'));
    a = server.wrap(new TextEncoder().encode('second'));
    expect(() => ctx.unwrap(a.header, a.data)).toThrow(/sequence number 1, expected 0/);
  });

  it('refuses a server without extended session security, sealing, 128-bit keys or NetBIOS names', () => {
    for (const drop of [
      NtlmFlags.EXTENDED_SESSIONSECURITY,
      NtlmFlags.SEAL,
      NtlmFlags.NEGOTIATE_128,
      NtlmFlags.UNICODE,
    ]) {
      const ctx = specContext();
      ctx.negotiate();
      expect(() => ctx.authenticate(windowsLikeChallenge({ flags: 0xe28a8235 & ~drop }))).toThrow(
        expect.objectContaining({ errorId: 'WinRMAuthUnsupported' }),
      );
    }
    const ctx = specContext();
    ctx.negotiate();
    expect(() =>
      ctx.authenticate(windowsLikeChallenge({ pairs: [{ id: AvId.NbDomainName, value: utf16le('D') }] })),
    ).toThrow(/NetBIOS/);
  });

  it('enforces the order: no wrap before authentication, no second authenticate', () => {
    const ctx = specContext();
    expect(() => ctx.wrap(new Uint8Array(1))).toThrow(expect.objectContaining({ errorId: 'WinRMAuthState' }));
    expect(() => ctx.authenticate(CHALLENGE_MESSAGE)).toThrow(/negotiate\(\) first/);
    ctx.negotiate();
    ctx.authenticate(CHALLENGE_MESSAGE);
    expect(() => ctx.authenticate(CHALLENGE_MESSAGE)).toThrow(/runs once/);
  });

  it('splits the user name forms', () => {
    expect(splitUsername('DOMAIN\\user')).toEqual({ domain: 'DOMAIN', user: 'user' });
    expect(splitUsername('user@domain.test')).toEqual({ domain: '', user: 'user@domain.test' });
    expect(splitUsername('user')).toEqual({ domain: '', user: 'user' });
  });
});

describe('parseChallenge on hostile input', () => {
  const good = windowsLikeChallenge();
  const mutate = (f: (b: Uint8Array, v: DataView) => void) => {
    const b = good.slice();
    f(b, new DataView(b.buffer));
    return b;
  };
  it.each([
    ['empty', new Uint8Array(0), /no NTLMSSP signature/],
    ['truncated fixed part', good.subarray(0, 40), /shorter than the fixed part/],
    ['wrong type', mutate((_, v) => v.setUint32(8, 3, true)), /message type 3/],
    ['TargetName past the end', mutate((_, v) => v.setUint32(16, 0xfffffff0, true)), /TargetName .* outside/],
    ['TargetInfo too long', mutate((_, v) => v.setUint16(40, 0xffff, true)), /TargetInfo .* outside/],
    ['TargetInfo inside the header', mutate((_, v) => v.setUint32(44, 8, true)), /TargetInfo .* outside/],
    [
      'AV pair longer than TargetInfo',
      mutate((_b, v) => v.setUint16(v.getUint32(44, true) + 2, 0x7fff, true)),
      /claims/,
    ],
    ['no MsvAvEOL', good.subarray(0, good.length - 4), /outside|without MsvAvEOL/],
    ['too long', new Uint8Array(0x10001), /longer than any NTLM message/],
  ])('%s: a clear WinRMAuthTokenInvalid', (_, token, message) => {
    let caught: unknown;
    try {
      parseChallenge(token);
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ errorId: 'WinRMAuthTokenInvalid' });
    expect((caught as Error).message).toMatch(message);
  });

  it('a timestamp AV pair of the wrong size is refused', () => {
    const t = windowsLikeChallenge({
      pairs: [
        { id: AvId.NbDomainName, value: utf16le('D') },
        { id: AvId.Timestamp, value: new Uint8Array(4) },
      ],
    });
    expect(() => parseChallenge(t)).toThrow(/AV_PAIR 7 has length 4, expected 8/);
  });
});
