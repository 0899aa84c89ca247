import { authError } from './auth-error.ts';
import { bytesEqual, fromHex } from './bytes.ts';
import { readChildren, readTlv, tlv } from './der.ts';
import {
  type AuthenticateOptions,
  NtlmContext,
  type NtlmContextOptions,
  type NtlmCredentials,
  type WrappedMessage,
} from './ntlm-context.ts';
import { isNtlmToken } from './ntlm-messages.ts';

/** DER of the NTLMSSP mechanism OID 1.3.6.1.4.1.311.2.2.10 (MS-NLMP 1.9). */
export const NTLMSSP_OID = fromHex('060a2b06010401823702020a');
/** DER of the SPNEGO OID 1.3.6.1.5.5.2 (RFC 4178 4.1). */
export const SPNEGO_OID = fromHex('06062b0601050502');
/** MechTypeList [NTLMSSP]: the bytes the mechListMIC covers (RFC 4178 4.2.1). */
export const MECH_TYPES = tlv(0x30, NTLMSSP_OID);

/** NegTokenResp negState (RFC 4178 4.2.2). */
export const NegState = { acceptCompleted: 0, acceptIncomplete: 1, reject: 2, requestMic: 3 } as const;

export interface NegTokenResp {
  readonly negState?: number;
  /** DER of the OID. */
  readonly supportedMech?: Uint8Array;
  readonly responseToken?: Uint8Array;
  readonly mechListMIC?: Uint8Array;
}

/**
 * The initial token: GSS-API InitialContextToken (RFC 2743 3.1, tag 0x60) holding the SPNEGO OID and a
 * NegTokenInit [0] with mechTypes [0] and the first NTLM token as mechToken [2] (RFC 4178 4.2.1).
 */
export function encodeNegTokenInit(mechToken: Uint8Array): Uint8Array {
  const init = tlv(0x30, tlv(0xa0, MECH_TYPES), tlv(0xa2, tlv(0x04, mechToken)));
  return tlv(0x60, SPNEGO_OID, tlv(0xa0, init));
}

/** NegTokenResp [1] (RFC 4178 4.2.2): only the fields given. */
export function encodeNegTokenResp(r: NegTokenResp): Uint8Array {
  const fields: Uint8Array[] = [];
  if (r.negState !== undefined) fields.push(tlv(0xa0, tlv(0x0a, new Uint8Array([r.negState]))));
  if (r.supportedMech) fields.push(tlv(0xa1, r.supportedMech));
  if (r.responseToken) fields.push(tlv(0xa2, tlv(0x04, r.responseToken)));
  if (r.mechListMIC) fields.push(tlv(0xa3, tlv(0x04, r.mechListMIC)));
  return tlv(0xa1, tlv(0x30, ...fields));
}

const MAX_TOKEN = 0x10000;

/** Parses a server's NegTokenResp; every length is bounded by the DER reader. */
export function parseNegTokenResp(token: Uint8Array): NegTokenResp {
  if (token.length > MAX_TOKEN)
    throw authError('WinRMAuthTokenInvalid', `a ${token.length}-byte SPNEGO token`);
  const outer = readTlv(token, 0, 'NegotiationToken');
  if (outer.tag !== 0xa1)
    throw authError(
      'WinRMAuthTokenInvalid',
      `expected a NegTokenResp [1], got tag 0x${outer.tag.toString(16)}`,
    );
  if (outer.end !== token.length)
    throw authError('WinRMAuthTokenInvalid', 'trailing bytes after the NegTokenResp');
  const [seq, ...extra] = readChildren(outer.value, 'NegTokenResp');
  if (seq?.tag !== 0x30 || extra.length > 0)
    throw authError('WinRMAuthTokenInvalid', 'a NegTokenResp is one SEQUENCE');
  const out: { -readonly [K in keyof NegTokenResp]: NegTokenResp[K] } = {};
  let last = -1;
  for (const f of readChildren(seq.value, 'NegTokenResp field')) {
    const n = f.tag - 0xa0;
    if (n < 0 || n > 3 || n <= last)
      throw authError(
        'WinRMAuthTokenInvalid',
        `unexpected or out-of-order NegTokenResp field tag 0x${f.tag.toString(16)}`,
      );
    last = n;
    const inner = readChildren(f.value, `NegTokenResp [${n}]`);
    const [v] = inner;
    if (!v || inner.length !== 1)
      throw authError('WinRMAuthTokenInvalid', `NegTokenResp [${n}] must hold one value`);
    const want = [0x0a, 0x06, 0x04, 0x04][n]!;
    if (v.tag !== want)
      throw authError(
        'WinRMAuthTokenInvalid',
        `NegTokenResp [${n}] holds tag 0x${v.tag.toString(16)}, expected 0x${want.toString(16)}`,
      );
    if (n === 0) {
      if (v.value.length !== 1)
        throw authError('WinRMAuthTokenInvalid', 'negState is not a one-byte ENUMERATED');
      out.negState = v.value[0]!;
    } else if (n === 1) out.supportedMech = f.value.slice();
    else if (n === 2) out.responseToken = v.value.slice();
    else out.mechListMIC = v.value.slice();
  }
  return out;
}

/** `spnego`: NegTokenInit/NegTokenResp around NTLM. `ntlm`: bare NTLMSSP tokens in the Negotiate header. */
export type NegotiateMode = 'spnego' | 'ntlm';

export interface SpnegoNtlmOptions extends NtlmContextOptions {
  /** Default `spnego`. Windows servers accept a bare NTLMSSP token under `Negotiate` too, and answer in kind. */
  readonly mode?: NegotiateMode;
}

type Stage = 'initial' | 'sent-negotiate' | 'sent-authenticate' | 'established';

/**
 * HTTP `Negotiate` with NTLM inside (RFC 4559, RFC 4178, MS-SPNG): three legs, the mechListMIC both ways
 * (MS-SPNG 3.1.5.1, 3.3.5.1), then the NTLM context's session security for message encryption.
 */
export class SpnegoNtlm {
  readonly ntlm: NtlmContext;
  #mode: NegotiateMode;
  #stage: Stage = 'initial';

  constructor(credentials: NtlmCredentials, options: SpnegoNtlmOptions = {}) {
    this.ntlm = new NtlmContext(credentials, options);
    this.#mode = options.mode ?? 'spnego';
  }

  /** Which framing is in use: the server may answer a SPNEGO token with a bare NTLM one. */
  get mode(): NegotiateMode {
    return this.#mode;
  }

  /** Keys exist: wrap/unwrap work (after our AUTHENTICATE went out). */
  get complete(): boolean {
    return this.ntlm.complete;
  }

  /**
   * The server's last token was verified: SPNEGO accept-completed with a good mechListMIC (raw NTLM has no
   * last token, so it is established when complete).
   */
  get established(): boolean {
    return this.#stage === 'established' || (this.#mode === 'ntlm' && this.ntlm.complete);
  }

  initialToken(): Uint8Array {
    if (this.#stage !== 'initial')
      throw authError('WinRMAuthState', 'Negotiate: initialToken() was already called');
    this.#stage = 'sent-negotiate';
    const negotiate = this.ntlm.negotiate();
    return this.#mode === 'ntlm' ? negotiate : encodeNegTokenInit(negotiate);
  }

  /**
   * Feeds a server token (from `WWW-Authenticate: Negotiate <token>`). Returns the next token to send, or
   * undefined when the exchange is over.
   */
  step(serverToken: Uint8Array, options: AuthenticateOptions = {}): Uint8Array | undefined {
    if (this.#stage === 'sent-negotiate') {
      if (isNtlmToken(serverToken)) {
        // A bare CHALLENGE: the server speaks raw NTLM under Negotiate (what Windows does for a raw NEGOTIATE).
        // Only when we started raw: a SPNEGO downgrade would lose the mechListMIC.
        if (this.#mode !== 'ntlm')
          throw authError(
            'WinRMAuthTokenInvalid',
            'the server answered a SPNEGO token with a bare NTLM token',
          );
        this.#stage = 'sent-authenticate';
        return this.ntlm.authenticate(serverToken, options);
      }
      if (this.#mode === 'ntlm')
        throw authError('WinRMAuthTokenInvalid', 'expected an NTLM CHALLENGE_MESSAGE from the server');
      const resp = parseNegTokenResp(serverToken);
      this.#checkRejected(resp);
      if (resp.negState !== NegState.acceptIncomplete && resp.negState !== NegState.requestMic)
        throw authError(
          'WinRMAuthTokenInvalid',
          `SPNEGO: negState ${String(resp.negState)} where the server must continue`,
        );
      if (!resp.supportedMech || !bytesEqual(resp.supportedMech, NTLMSSP_OID))
        throw authError(
          'WinRMAuthUnsupported',
          'SPNEGO: the server did not select NTLM (the only mechanism offered)',
        );
      if (!resp.responseToken)
        throw authError('WinRMAuthTokenInvalid', 'SPNEGO: no NTLM CHALLENGE in the server token');
      const authenticate = this.ntlm.authenticate(resp.responseToken, options);
      // MS-SPNG 3.3.5.1: the mechListMIC leaves the RC4 state as it was for the first application message.
      const mechListMIC = this.ntlm.sign(MECH_TYPES, { keepRc4State: true });
      this.#stage = 'sent-authenticate';
      return encodeNegTokenResp({ responseToken: authenticate, mechListMIC });
    }
    if (this.#stage === 'sent-authenticate') {
      if (this.#mode === 'ntlm') {
        if (serverToken.length > 0)
          throw authError('WinRMAuthTokenInvalid', 'NTLM: the server sent a token after AUTHENTICATE');
        this.#stage = 'established';
        return undefined;
      }
      const resp = parseNegTokenResp(serverToken);
      this.#checkRejected(resp);
      if (resp.negState !== NegState.acceptCompleted)
        throw authError(
          'WinRMAuthTokenInvalid',
          `SPNEGO: negState ${String(resp.negState)} after the last NTLM leg`,
        );
      if (resp.responseToken && resp.responseToken.length > 0)
        throw authError('WinRMAuthTokenInvalid', 'SPNEGO: an NTLM token after AUTHENTICATE');
      // MS-SPNG 3.1.5.1 (<8>): with a MIC in our AUTHENTICATE the mechListMIC is mandatory; verifying it proves
      // the server saw our mechTypes unaltered. Without one (a server that sent no MsvAvTimestamp) it may be absent.
      if (resp.mechListMIC) this.ntlm.verify(MECH_TYPES, resp.mechListMIC, { keepRc4State: true });
      else if (this.ntlm.micPresent)
        throw authError('WinRMMessageIntegrity', 'SPNEGO: the server sent no mechListMIC');
      this.#stage = 'established';
      return undefined;
    }
    throw authError('WinRMAuthState', `Negotiate: step() in stage ${this.#stage}`);
  }

  #checkRejected(resp: NegTokenResp): void {
    if (resp.negState === NegState.reject)
      throw authError('WinRMAuthRejected', 'SPNEGO: the server rejected the authentication');
  }

  /** Zeroes the NTLM session keys (see NtlmContext.dispose). */
  dispose(): void {
    this.ntlm.dispose();
  }

  wrap(data: Uint8Array): WrappedMessage {
    return this.ntlm.wrap(data);
  }

  unwrap(header: Uint8Array, data: Uint8Array): Uint8Array {
    return this.ntlm.unwrap(header, data);
  }
}
