import { authError } from './auth-error.ts';
import { ascii, bytesEqual, concatBytes, fromUtf16le } from './bytes.ts';

/** NEGOTIATE flags (MS-NLMP 2.2.2.5), by MS-NLMP's names without the `NTLMSSP_NEGOTIATE_` prefix. */
export const NtlmFlags = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  SIGN: 0x00000010,
  SEAL: 0x00000020,
  DATAGRAM: 0x00000040,
  LM_KEY: 0x00000080,
  NTLM: 0x00000200,
  ANONYMOUS: 0x00000800,
  OEM_DOMAIN_SUPPLIED: 0x00001000,
  OEM_WORKSTATION_SUPPLIED: 0x00002000,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  IDENTIFY: 0x00100000,
  REQUEST_NON_NT_SESSION_KEY: 0x00400000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;

/**
 * What we ask for (protocols.md 4.4): NTLMv2 with extended session security, 128-bit keys, key exchange,
 * signing and sealing (WinRM encrypts every body), Unicode strings, the version field. `0xe2888235`, which is
 * also the AUTHENTICATE flags of MS-NLMP 4.2.4.3.
 */
export const CLIENT_NEGOTIATE_FLAGS =
  (NtlmFlags.UNICODE |
    NtlmFlags.REQUEST_TARGET |
    NtlmFlags.SIGN |
    NtlmFlags.SEAL |
    NtlmFlags.NTLM |
    NtlmFlags.ALWAYS_SIGN |
    NtlmFlags.EXTENDED_SESSIONSECURITY |
    NtlmFlags.TARGET_INFO |
    NtlmFlags.VERSION |
    NtlmFlags.NEGOTIATE_128 |
    NtlmFlags.KEY_EXCH |
    NtlmFlags.NEGOTIATE_56) >>>
  0;

/** AV_PAIR ids (MS-NLMP 2.2.2.1). */
export const AvId = {
  EOL: 0,
  NbComputerName: 1,
  NbDomainName: 2,
  DnsComputerName: 3,
  DnsDomainName: 4,
  DnsTreeName: 5,
  Flags: 6,
  Timestamp: 7,
  SingleHost: 8,
  TargetName: 9,
  ChannelBindings: 10,
} as const;

/** MsvAvFlags bits (MS-NLMP 2.2.2.1). */
export const AV_FLAG_MIC_PRESENT = 0x00000002;

export interface AvPair {
  readonly id: number;
  readonly value: Uint8Array;
}

/** "NTLMSSP\0" (MS-NLMP 2.2.1). */
export const NTLMSSP_SIGNATURE = ascii('NTLMSSP\0');

export function isNtlmToken(token: Uint8Array): boolean {
  return token.length >= 8 && bytesEqual(token.subarray(0, 8), NTLMSSP_SIGNATURE);
}

/** MS-NLMP 2.2.2.10 VERSION: major, minor, build (u16 LE), 3 reserved bytes, NTLMRevisionCurrent 0x0F. */
export function encodeVersion(major: number, minor: number, build: number): Uint8Array {
  return new Uint8Array([major, minor, build & 0xff, build >>> 8, 0, 0, 0, 0x0f]);
}

/** The version field we send. It is informational only ("for debugging purposes", MS-NLMP 2.2.2.10). */
export const DEFAULT_VERSION = encodeVersion(10, 0, 0);

/** NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1): no domain or workstation supplied, so both fields are empty. */
export function encodeNegotiate(flags: number, version: Uint8Array): Uint8Array {
  const withVersion = (flags & NtlmFlags.VERSION) !== 0;
  const out = new Uint8Array(withVersion ? 40 : 32);
  const v = new DataView(out.buffer);
  out.set(NTLMSSP_SIGNATURE, 0);
  v.setUint32(8, 1, true);
  v.setUint32(12, flags >>> 0, true);
  // DomainNameFields and WorkstationFields: length 0, offset at the end of the fixed part.
  v.setUint32(20, out.length, true);
  v.setUint32(28, out.length, true);
  if (withVersion) out.set(version, 32);
  return out;
}

export interface ChallengeMessage {
  readonly flags: number;
  readonly serverChallenge: Uint8Array;
  readonly targetName: string;
  /** The raw TargetInfo bytes, as the server sent them (empty when absent). */
  readonly targetInfoBytes: Uint8Array;
  readonly targetInfo: readonly AvPair[];
}

const CHALLENGE_FIXED = 48; // through TargetInfoFields; the 8-byte Version follows only when there is room
const MAX_TOKEN = 0x10000;

function invalid(what: string): never {
  throw authError('WinRMAuthTokenInvalid', `invalid NTLM CHALLENGE_MESSAGE from the server: ${what}`);
}

/** Reads a (Len u16, MaxLen u16, Offset u32) field descriptor and returns the bytes, bounds-checked. */
function field(token: Uint8Array, at: number, name: string): Uint8Array {
  const v = new DataView(token.buffer, token.byteOffset, token.byteLength);
  const len = v.getUint16(at, true);
  const offset = v.getUint32(at + 4, true);
  if (len === 0) return new Uint8Array(0);
  if (offset < CHALLENGE_FIXED || offset > token.length || len > token.length - offset)
    invalid(`${name} (offset ${offset}, length ${len}) lies outside the ${token.length}-byte message`);
  return token.subarray(offset, offset + len);
}

/** MS-NLMP 2.2.1.2. Every length and offset is checked against the token; nothing is trusted. */
export function parseChallenge(token: Uint8Array): ChallengeMessage {
  if (token.length > MAX_TOKEN) invalid(`${token.length} bytes is longer than any NTLM message`);
  if (!isNtlmToken(token)) invalid('no NTLMSSP signature');
  if (token.length < CHALLENGE_FIXED) invalid(`${token.length} bytes is shorter than the fixed part (48)`);
  const v = new DataView(token.buffer, token.byteOffset, token.byteLength);
  const type = v.getUint32(8, true);
  if (type !== 2) invalid(`message type ${type}, expected 2 (CHALLENGE)`);
  const flags = v.getUint32(20, true);
  const serverChallenge = token.slice(24, 32);
  const targetNameBytes = field(token, 12, 'TargetName');
  if ((flags & NtlmFlags.UNICODE) !== 0 && targetNameBytes.length % 2 !== 0)
    invalid('TargetName has an odd length for a UTF-16 string');
  const targetName =
    (flags & NtlmFlags.UNICODE) !== 0
      ? fromUtf16le(targetNameBytes)
      : String.fromCharCode(...targetNameBytes);
  const targetInfoBytes =
    (flags & NtlmFlags.TARGET_INFO) !== 0 ? field(token, 40, 'TargetInfo').slice() : new Uint8Array(0);
  const targetInfo = targetInfoBytes.length > 0 ? parseAvPairs(targetInfoBytes) : [];
  return { flags, serverChallenge, targetName, targetInfoBytes, targetInfo };
}

const FIXED_AV_SIZES: Partial<Record<number, number>> = {
  [AvId.Flags]: 4,
  [AvId.Timestamp]: 8,
  [AvId.ChannelBindings]: 16,
};

/** MS-NLMP 2.2.2.1: AvId u16, AvLen u16, value; the list ends with MsvAvEOL (length 0), which is required. */
export function parseAvPairs(bytes: Uint8Array): AvPair[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pairs: AvPair[] = [];
  let o = 0;
  for (;;) {
    if (bytes.length - o < 4) invalid('TargetInfo ends without MsvAvEOL');
    const id = v.getUint16(o, true);
    const len = v.getUint16(o + 2, true);
    o += 4;
    if (len > bytes.length - o) invalid(`AV_PAIR ${id} claims ${len} bytes, only ${bytes.length - o} remain`);
    if (id === AvId.EOL) {
      if (len !== 0) invalid('MsvAvEOL with a non-zero length');
      return pairs;
    }
    const size = FIXED_AV_SIZES[id];
    if (size !== undefined && len !== size) invalid(`AV_PAIR ${id} has length ${len}, expected ${size}`);
    pairs.push({ id, value: bytes.slice(o, o + len) });
    o += len;
  }
}

export function encodeAvPairs(pairs: readonly AvPair[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const p of [...pairs, { id: AvId.EOL, value: new Uint8Array(0) }]) {
    if (p.value.length > 0xffff) throw new RangeError(`AV_PAIR ${p.id} is too long`);
    const h = new Uint8Array(4);
    const v = new DataView(h.buffer);
    v.setUint16(0, p.id, true);
    v.setUint16(2, p.value.length, true);
    parts.push(h, p.value);
  }
  return concatBytes(...parts);
}

export interface AuthenticateFields {
  readonly flags: number;
  readonly lmChallengeResponse: Uint8Array;
  readonly ntChallengeResponse: Uint8Array;
  /** UTF-16LE bytes. */
  readonly domain: Uint8Array;
  readonly user: Uint8Array;
  readonly workstation: Uint8Array;
  readonly encryptedRandomSessionKey: Uint8Array;
  readonly version: Uint8Array;
  /** Reserve the 16-byte MIC field (zeros; the caller fills it in at MIC_OFFSET). */
  readonly withMic: boolean;
}

/** Where the MIC sits in an AUTHENTICATE_MESSAGE that has one (MS-NLMP 2.2.1.3). */
export const MIC_OFFSET = 72;

/**
 * AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3). The payload order (domain, user, workstation, LM, NT, session key)
 * is the one of MS-NLMP 4.2.4.3. Without a MIC the fixed part ends after Version (72 bytes), as in that example.
 */
export function encodeAuthenticate(f: AuthenticateFields): Uint8Array {
  const fixed = f.withMic ? MIC_OFFSET + 16 : MIC_OFFSET;
  const payload = [
    f.domain,
    f.user,
    f.workstation,
    f.lmChallengeResponse,
    f.ntChallengeResponse,
    f.encryptedRandomSessionKey,
  ];
  for (const p of payload)
    if (p.length > 0xffff) throw new RangeError('an AUTHENTICATE_MESSAGE field exceeds 65535 bytes');
  const out = new Uint8Array(fixed + payload.reduce((n, p) => n + p.length, 0));
  const v = new DataView(out.buffer);
  out.set(NTLMSSP_SIGNATURE, 0);
  v.setUint32(8, 3, true);
  let offset = fixed;
  const put = (at: number, bytes: Uint8Array) => {
    v.setUint16(at, bytes.length, true);
    v.setUint16(at + 2, bytes.length, true);
    v.setUint32(at + 4, offset, true);
    out.set(bytes, offset);
    offset += bytes.length;
  };
  // Descriptors in field order; bytes laid out in payload order.
  put(28, f.domain);
  put(36, f.user);
  put(44, f.workstation);
  put(12, f.lmChallengeResponse);
  put(20, f.ntChallengeResponse);
  put(52, f.encryptedRandomSessionKey);
  v.setUint32(60, f.flags >>> 0, true);
  out.set(f.version, 64);
  return out;
}
