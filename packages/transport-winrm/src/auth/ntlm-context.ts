import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { authError } from './auth-error.ts';
import { bytesEqual, utf16le } from './bytes.ts';
import {
  channelBindingsHash,
  computeNtlmv2Response,
  hmacMd5,
  mac,
  ntowfv2,
  sealKey,
  signKey,
} from './ntlm-crypto.ts';
import {
  AV_FLAG_MIC_PRESENT,
  AvId,
  type AvPair,
  type ChallengeMessage,
  CLIENT_NEGOTIATE_FLAGS,
  DEFAULT_VERSION,
  encodeAuthenticate,
  encodeAvPairs,
  encodeNegotiate,
  MIC_OFFSET,
  NtlmFlags,
  parseChallenge,
} from './ntlm-messages.ts';
import { Rc4, rc4k } from './rc4.ts';

export interface NtlmCredentials {
  /** `DOMAIN\user`, `user@domain` (a UPN, sent whole with an empty domain, as Windows does) or `user`. */
  readonly username: string;
  readonly password: string;
}

export interface NtlmContextOptions {
  /** The NetBIOS name of this machine, sent in AUTHENTICATE_MESSAGE.Workstation. Default: empty. */
  readonly workstation?: string;
  /**
   * The server's SPN (e.g. `HTTP/server.example.com`), sent as MsvAvTargetName for servers that check the
   * service binding (Extended Protection without TLS). Omitted when not given.
   */
  readonly targetName?: string;
  /** Test hooks: the nonce source (client challenge, session key) and the clock (a FILETIME, 8 bytes LE). */
  readonly randomBytes?: (n: number) => Uint8Array;
  readonly currentTime?: () => Uint8Array;
  /** The VERSION field (MS-NLMP 2.2.2.10); informational. */
  readonly version?: Uint8Array;
}

export interface AuthenticateOptions {
  /**
   * Channel bindings' application data, e.g. `tlsServerEndPointBindings(hash)` over HTTPS. Sent as
   * MsvAvChannelBindings = MD5(gss_channel_bindings_struct); no AV pair at all when not given.
   */
  readonly channelBindings?: Uint8Array;
}

/** One direction's session security state (MS-NLMP 3.4.1): keys, the persistent RC4 handle, the sequence. */
interface Direction {
  readonly signKey: Uint8Array;
  handle: Rc4;
  seq: number;
}

export interface WrappedMessage {
  /** The 16-byte NTLMSSP_MESSAGE_SIGNATURE (the "encryption header" of MS-WSMV 2.2.9.1.1.2.2). */
  readonly header: Uint8Array;
  /** The sealed bytes, as long as the plaintext. */
  readonly data: Uint8Array;
}

/** Splits the three user name forms (see NtlmCredentials.username). */
export function splitUsername(username: string): { user: string; domain: string } {
  const slash = username.indexOf('\\');
  if (slash >= 0) return { domain: username.slice(0, slash), user: username.slice(slash + 1) };
  return { user: username, domain: '' };
}

/** One direction's keys from ExportedSessionKey; the seal key is zeroed once the RC4 state holds it. */
function direction(flags: number, exported: Uint8Array, mode: 'client' | 'server'): Direction {
  const key = sealKey(flags, exported, mode);
  const handle = new Rc4(key);
  key.fill(0);
  return { signKey: signKey(exported, mode), handle, seq: 0 };
}

/** FILETIME now: 100 ns ticks since 1601-01-01, u64 LE (MS-DTYP 2.3.3). */
function filetimeNow(): Uint8Array {
  const ticks = (BigInt(Date.now()) + 11_644_473_600_000n) * 10_000n;
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, ticks, true);
  return out;
}

type State = 'initial' | 'negotiated' | 'complete';

/**
 * An NTLMv2 client security context (MS-NLMP 3.1): NEGOTIATE, then AUTHENTICATE from the server's CHALLENGE,
 * then session security (sign/seal with sequence numbers, one persistent RC4 handle per direction).
 * Sans-IO: tokens in, tokens out. NTLMv1 and LM are not supported, by design.
 */
export class NtlmContext {
  /** Dropped once AUTHENTICATE is built: the session needs only the derived keys. */
  #credentials: NtlmCredentials | undefined;
  readonly #options: NtlmContextOptions;
  #state: State = 'initial';
  #negotiateMessage: Uint8Array | undefined;
  #flags = 0;
  #exportedSessionKey: Uint8Array | undefined;
  #micPresent = false;
  #client: Direction | undefined;
  #server: Direction | undefined;

  constructor(credentials: NtlmCredentials, options: NtlmContextOptions = {}) {
    this.#credentials = credentials;
    this.#options = options;
  }

  /** True once AUTHENTICATE was produced: wrap/unwrap work from then on. */
  get complete(): boolean {
    return this.#state === 'complete';
  }

  /** The flags both sides agreed on (AUTHENTICATE_MESSAGE.NegotiateFlags). */
  get negotiatedFlags(): number {
    return this.#flags;
  }

  /** Whether our AUTHENTICATE_MESSAGE carried a MIC (the server sent MsvAvTimestamp). SPNEGO then needs a mechListMIC. */
  get micPresent(): boolean {
    return this.#micPresent;
  }

  /** ExportedSessionKey (MS-NLMP 3.1.1.1): for callers that derive further keys (CredSSP later). */
  get sessionKey(): Uint8Array {
    if (!this.#exportedSessionKey)
      throw authError('WinRMAuthState', 'NTLM: no session key before authentication');
    return this.#exportedSessionKey.slice();
  }

  /** The NEGOTIATE_MESSAGE (MS-NLMP 3.1.5.1.1). */
  negotiate(): Uint8Array {
    if (this.#state !== 'initial') throw authError('WinRMAuthState', 'NTLM: negotiate() was already called');
    this.#negotiateMessage = encodeNegotiate(
      CLIENT_NEGOTIATE_FLAGS,
      this.#options.version ?? DEFAULT_VERSION,
    );
    this.#state = 'negotiated';
    return this.#negotiateMessage.slice();
  }

  /** The AUTHENTICATE_MESSAGE for the server's CHALLENGE_MESSAGE (MS-NLMP 3.1.5.1.2). */
  authenticate(challengeToken: Uint8Array, options: AuthenticateOptions = {}): Uint8Array {
    if (this.#state !== 'negotiated' || !this.#negotiateMessage)
      throw authError('WinRMAuthState', 'NTLM: authenticate() needs negotiate() first, and runs once');
    const challenge = parseChallenge(challengeToken);
    const flags = this.#agreeFlags(challenge);
    const random = this.#options.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n)));

    const timestamp = challenge.targetInfo.find((p) => p.id === AvId.Timestamp);
    const time = timestamp ? timestamp.value : (this.#options.currentTime ?? filetimeNow)();
    const withMic = timestamp !== undefined;
    const targetInfo = this.#clientTargetInfo(challenge, withMic, options.channelBindings);

    const credentials = this.#credentials;
    if (!credentials) throw authError('WinRMAuthState', 'NTLM: the credentials were already used');
    const { user, domain } = splitUsername(credentials.username);
    const responseKey = ntowfv2(credentials.password, user, domain);
    const clientChallenge = random(8);
    const r = computeNtlmv2Response(
      responseKey,
      challenge.serverChallenge,
      clientChallenge,
      time,
      targetInfo,
    );
    responseKey.fill(0); // the password's NTOWFv2: not kept past this leg
    // MS-NLMP 3.1.5.1.2: with MsvAvTimestamp the client sends Z(24) instead of the LMv2 response.
    const lm = withMic ? new Uint8Array(24) : r.lmChallengeResponse;

    // KXKEY for NTLMv2 is SessionBaseKey (MS-NLMP 3.4.5.1).
    const keyExchangeKey = r.sessionBaseKey;
    let exported: Uint8Array = keyExchangeKey;
    let encryptedRandomSessionKey: Uint8Array = new Uint8Array(0);
    if ((flags & NtlmFlags.KEY_EXCH) !== 0) {
      exported = random(16);
      encryptedRandomSessionKey = rc4k(keyExchangeKey, exported);
      keyExchangeKey.fill(0);
    }

    const message = encodeAuthenticate({
      flags,
      lmChallengeResponse: lm,
      ntChallengeResponse: r.ntChallengeResponse,
      domain: utf16le(domain),
      user: utf16le(user),
      workstation: utf16le(this.#options.workstation ?? ''),
      encryptedRandomSessionKey,
      version: this.#options.version ?? DEFAULT_VERSION,
      withMic,
    });
    if (withMic) {
      const mic = hmacMd5(exported, this.#negotiateMessage, challengeToken, message);
      message.set(mic, MIC_OFFSET);
    }

    this.#flags = flags;
    this.#exportedSessionKey = exported;
    this.#micPresent = withMic;
    this.#client = direction(flags, exported, 'client');
    this.#server = direction(flags, exported, 'server');
    this.#state = 'complete';
    this.#credentials = undefined;
    return message;
  }

  /**
   * Forgets the session: the exported session key, both directions' signing keys and RC4 states are zeroed, the
   * credentials dropped. Idempotent; wrap/unwrap/sign fail from then on (as before authentication).
   */
  dispose(): void {
    this.#exportedSessionKey?.fill(0);
    this.#exportedSessionKey = undefined;
    for (const d of [this.#client, this.#server]) {
      d?.signKey.fill(0);
      d?.handle.dispose();
    }
    this.#client = undefined;
    this.#server = undefined;
    this.#credentials = undefined;
    this.#negotiateMessage = undefined;
    if (this.#state === 'complete') this.#state = 'negotiated';
  }

  /**
   * The AUTHENTICATE flags: what we asked for that the server granted, with REQUEST_TARGET kept (a request, not
   * a capability). Refuses what would weaken the session (MS-NLMP 3.1.5.1.2: "strong enough for the client").
   */
  #agreeFlags(challenge: ChallengeMessage): number {
    const granted = challenge.flags;
    const need: [number, string][] = [
      [NtlmFlags.UNICODE, 'Unicode strings'],
      [NtlmFlags.EXTENDED_SESSIONSECURITY, 'NTLMv2 extended session security'],
      [NtlmFlags.TARGET_INFO, 'target information (NTLMv2)'],
      [NtlmFlags.SIGN, 'message signing'],
      [NtlmFlags.SEAL, 'message sealing (WinRM encrypts every body)'],
      [NtlmFlags.NEGOTIATE_128, '128-bit session keys'],
    ];
    for (const [flag, what] of need)
      if ((granted & flag) === 0)
        throw authError('WinRMAuthUnsupported', `the server's NTLM CHALLENGE does not offer ${what}`);
    const names = new Set(challenge.targetInfo.map((p) => p.id));
    // MS-NLMP 3.1.5.1.2: NTLMv2 with integrity or confidentiality needs both NetBIOS names.
    if (!names.has(AvId.NbComputerName) || !names.has(AvId.NbDomainName))
      throw authError(
        'WinRMAuthUnsupported',
        "the server's NTLM CHALLENGE lacks its NetBIOS computer and domain names",
      );
    return ((CLIENT_NEGOTIATE_FLAGS & granted) | NtlmFlags.REQUEST_TARGET) >>> 0;
  }

  /** The server's AV pairs plus ours: MsvAvFlags (MIC), MsvAvChannelBindings, MsvAvTargetName (MS-NLMP 3.1.5.1.2). */
  #clientTargetInfo(challenge: ChallengeMessage, withMic: boolean, channelBindings?: Uint8Array): Uint8Array {
    const added = withMic || channelBindings !== undefined || this.#options.targetName !== undefined;
    if (!added) return challenge.targetInfoBytes.length > 0 ? challenge.targetInfoBytes : encodeAvPairs([]);
    const pairs: AvPair[] = [];
    let sawFlags = false;
    for (const p of challenge.targetInfo) {
      if (p.id === AvId.ChannelBindings || p.id === AvId.TargetName) continue; // ours to set
      if (p.id === AvId.Flags && withMic) {
        const v = new DataView(p.value.buffer, p.value.byteOffset, 4).getUint32(0, true);
        const value = new Uint8Array(4);
        new DataView(value.buffer).setUint32(0, (v | AV_FLAG_MIC_PRESENT) >>> 0, true);
        pairs.push({ id: AvId.Flags, value });
        sawFlags = true;
      } else pairs.push(p);
    }
    if (withMic && !sawFlags) {
      const value = new Uint8Array(4);
      new DataView(value.buffer).setUint32(0, AV_FLAG_MIC_PRESENT, true);
      pairs.push({ id: AvId.Flags, value });
    }
    if (channelBindings !== undefined)
      pairs.push({ id: AvId.ChannelBindings, value: channelBindingsHash(channelBindings) });
    if (this.#options.targetName !== undefined)
      pairs.push({ id: AvId.TargetName, value: utf16le(this.#options.targetName) });
    return encodeAvPairs(pairs);
  }

  #directions(): { client: Direction; server: Direction } {
    if (this.#state !== 'complete' || !this.#client || !this.#server)
      throw authError('WinRMAuthState', 'NTLM: session security is available only after authentication');
    return { client: this.#client, server: this.#server };
  }

  get #keyExch(): boolean {
    return (this.#flags & NtlmFlags.KEY_EXCH) !== 0;
  }

  /** GSS_WrapEx with confidentiality (MS-NLMP 3.4.3, 3.4.6): seal, then sign with the same RC4 handle. */
  wrap(data: Uint8Array): WrappedMessage {
    const { client } = this.#directions();
    const sealed = client.handle.update(data);
    const header = mac(client.handle, client.signKey, client.seq, data, this.#keyExch);
    client.seq = (client.seq + 1) >>> 0;
    return { header, data: sealed };
  }

  /** GSS_UnwrapEx (MS-NLMP 3.4.7): unseal with the server's handle, then check the signature and the sequence. */
  unwrap(header: Uint8Array, data: Uint8Array): Uint8Array {
    const { server } = this.#directions();
    if (header.length !== 16)
      throw authError(
        'WinRMMessageIntegrity',
        `NTLM: a message signature has ${header.length} bytes, expected 16`,
      );
    const plain = server.handle.update(data);
    this.#check(server, header, plain, 'message');
    return plain;
  }

  /** GSS_GetMIC (MS-NLMP 3.4.8). `keepRc4State`: MS-SPNG 3.3.5.1 (the mechListMIC leaves the handle as it was). */
  sign(data: Uint8Array, options: { keepRc4State?: boolean } = {}): Uint8Array {
    const { client } = this.#directions();
    const handle = options.keepRc4State ? client.handle.clone() : client.handle;
    const sig = mac(handle, client.signKey, client.seq, data, this.#keyExch);
    client.seq = (client.seq + 1) >>> 0;
    return sig;
  }

  /** GSS_VerifyMIC (MS-NLMP 3.4.9) of a server signature; `keepRc4State` as in sign(). */
  verify(data: Uint8Array, signature: Uint8Array, options: { keepRc4State?: boolean } = {}): void {
    const { server } = this.#directions();
    if (signature.length !== 16)
      throw authError(
        'WinRMMessageIntegrity',
        `NTLM: a signature has ${signature.length} bytes, expected 16`,
      );
    const saved = server.handle;
    if (options.keepRc4State) server.handle = saved.clone();
    try {
      this.#check(server, signature, data, 'signature');
    } finally {
      server.handle = saved;
    }
  }

  #check(server: Direction, signature: Uint8Array, plain: Uint8Array, what: string): void {
    const expected = mac(server.handle, server.signKey, server.seq, plain, this.#keyExch);
    const seq = new DataView(signature.buffer, signature.byteOffset, 16).getUint32(12, true);
    if (seq !== server.seq)
      throw authError(
        'WinRMMessageIntegrity',
        `NTLM: server ${what} has sequence number ${seq}, expected ${server.seq}`,
      );
    if (!bytesEqual(expected, signature))
      throw authError(
        'WinRMMessageIntegrity',
        `NTLM: the server's ${what} signature does not verify (tampered or wrong key)`,
      );
    server.seq = (server.seq + 1) >>> 0;
  }
}
