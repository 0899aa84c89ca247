import { createHash, createHmac } from 'node:crypto';
import { ascii, concatBytes, u32le, utf16le } from './bytes.ts';
import { md4 } from './md4.ts';
import { NtlmFlags } from './ntlm-messages.ts';
import type { Rc4 } from './rc4.ts';

export function md5(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmacMd5(key: Uint8Array, ...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHmac('md5', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/**
 * Windows upper-cases user names one UTF-16 unit at a time (RtlUpcaseUnicodeString); JavaScript's toUpperCase
 * can change the length ('ß' -> 'SS'), which would change the key. Keep a unit as is when its upper case is not
 * a single unit.
 */
function upcaseUnits(s: string): string {
  let out = '';
  for (const c of s) {
    const u = c.toUpperCase();
    out += u.length === c.length ? u : c;
  }
  return out;
}

/** NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(MD4(UNICODE(Passwd)), UNICODE(Uppercase(User) ‖ UserDom)). */
export function ntowfv2(password: string, user: string, domain: string): Uint8Array {
  return hmacMd5(md4(utf16le(password)), utf16le(upcaseUnits(user) + domain));
}

export interface Ntlmv2Response {
  readonly ntChallengeResponse: Uint8Array;
  readonly lmChallengeResponse: Uint8Array;
  readonly ntProofStr: Uint8Array;
  readonly sessionBaseKey: Uint8Array;
}

/**
 * ComputeResponse for NTLMv2 (MS-NLMP 3.3.2). `time` is the 8-byte FILETIME; `targetInfo` the AV pairs as
 * sent (with the client's additions), EOL included.
 */
export function computeNtlmv2Response(
  responseKey: Uint8Array,
  serverChallenge: Uint8Array,
  clientChallenge: Uint8Array,
  time: Uint8Array,
  targetInfo: Uint8Array,
): Ntlmv2Response {
  // temp = Responserversion(1) HiResponserversion(1) Z(6) Time ClientChallenge Z(4) ServerName Z(4)
  const temp = concatBytes(
    new Uint8Array([1, 1, 0, 0, 0, 0, 0, 0]),
    time,
    clientChallenge,
    new Uint8Array(4),
    targetInfo,
    new Uint8Array(4),
  );
  const ntProofStr = hmacMd5(responseKey, serverChallenge, temp);
  return {
    ntProofStr,
    ntChallengeResponse: concatBytes(ntProofStr, temp),
    lmChallengeResponse: concatBytes(hmacMd5(responseKey, serverChallenge, clientChallenge), clientChallenge),
    sessionBaseKey: hmacMd5(responseKey, ntProofStr),
  };
}

const CLIENT_SIGN = ascii('session key to client-to-server signing key magic constant\0');
const SERVER_SIGN = ascii('session key to server-to-client signing key magic constant\0');
const CLIENT_SEAL = ascii('session key to client-to-server sealing key magic constant\0');
const SERVER_SEAL = ascii('session key to server-to-client sealing key magic constant\0');

/** SIGNKEY with extended session security (MS-NLMP 3.4.5.2). */
export function signKey(exportedSessionKey: Uint8Array, mode: 'client' | 'server'): Uint8Array {
  return md5(exportedSessionKey, mode === 'client' ? CLIENT_SIGN : SERVER_SIGN);
}

/** SEALKEY with extended session security (MS-NLMP 3.4.5.3): 128, 56 or 40 bits of the key, then MD5. */
export function sealKey(
  flags: number,
  exportedSessionKey: Uint8Array,
  mode: 'client' | 'server',
): Uint8Array {
  const k =
    (flags & NtlmFlags.NEGOTIATE_128) !== 0
      ? exportedSessionKey
      : (flags & NtlmFlags.NEGOTIATE_56) !== 0
        ? exportedSessionKey.subarray(0, 7)
        : exportedSessionKey.subarray(0, 5);
  return md5(k, mode === 'client' ? CLIENT_SEAL : SERVER_SEAL);
}

/**
 * MAC with extended session security (MS-NLMP 3.4.4.2): Version 1, the first 8 bytes of
 * HMAC_MD5(SigningKey, SeqNum ‖ Message), RC4-encrypted with the sealing handle when keys were exchanged, SeqNum.
 */
export function mac(
  handle: Rc4,
  signingKey: Uint8Array,
  seqNum: number,
  message: Uint8Array,
  keyExch: boolean,
) {
  const seq = u32le(seqNum);
  let checksum = hmacMd5(signingKey, seq, message).subarray(0, 8);
  if (keyExch) checksum = handle.update(checksum);
  return concatBytes(u32le(1), checksum, seq);
}

/**
 * MD5 of a gss_channel_bindings_struct (RFC 2744 3.11, as MS-NLMP 2.2.2.1 MsvAvChannelBindings hashes it) with
 * no addresses (type 0, length 0) and the given application data, e.g. "tls-server-end-point:" ‖ hash (RFC 5929).
 */
export function channelBindingsHash(applicationData: Uint8Array): Uint8Array {
  return md5(new Uint8Array(16), u32le(applicationData.length), applicationData);
}

/** "tls-server-end-point:" ‖ certificate hash: the application data of RFC 5929 4.1 bindings. */
export function tlsServerEndPointBindings(certificateHash: Uint8Array): Uint8Array {
  return concatBytes(ascii('tls-server-end-point:'), certificateHash);
}
