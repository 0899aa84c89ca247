import { authError } from '../auth-error.ts';
import { fromUtf16le, utf16le } from '../bytes.ts';
import { readChildren, readTlv, tlv } from '../der.ts';

/**
 * The DER messages of CredSSP (MS-CSSP 2.2.1): TSRequest, which carries every leg inside the TLS channel, and the
 * delegated TSCredentials with TSPasswordCreds. Only what a client sends and reads; smart-card and Remote
 * Guard credentials are not used by WinRM.
 */

/** The newest TSRequest version we speak (MS-CSSP 2.2.1: 6 adds the clientNonce to the error path). */
export const CREDSSP_VERSION = 6;

export interface TsRequest {
  /** The sender's highest supported version (2..6). */
  readonly version: number;
  /** NegoData: the SPNEGO/NTLM tokens, in order (one in practice). */
  readonly negoTokens?: readonly Uint8Array[];
  /** The encrypted TSCredentials. */
  readonly authInfo?: Uint8Array;
  /** The encrypted public-key binding. */
  readonly pubKeyAuth?: Uint8Array;
  /** An NTSTATUS (version 3+), as the unsigned 32-bit value. */
  readonly errorCode?: number;
  /** 32 random bytes (version 5+), the nonce of the hash form of the binding. */
  readonly clientNonce?: Uint8Array;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const ctx = (n: number) => 0xa0 + n;

/** A DER INTEGER of a non-negative value below 2^32 (minimal two's complement). */
export function derUnsigned(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`not a u32: ${n}`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return tlv(INTEGER, new Uint8Array(bytes));
}

function readInteger(value: Uint8Array, what: string): number {
  if (value.length === 0 || value.length > 5) bad(what, `an INTEGER of ${value.length} bytes`);
  let n = 0;
  for (const b of value) n = n * 256 + b;
  // Negative (a signed NTSTATUS encoded as such): take it as the unsigned 32-bit value.
  if (value[0]! & 0x80) n -= 2 ** (8 * value.length);
  return n < 0 ? n + 2 ** 32 : n;
}

function bad(what: string, why: string): never {
  throw authError('WinRMAuthTokenInvalid', `CredSSP: invalid ${what}: ${why}`);
}

function octets(t: { tag: number; value: Uint8Array }, what: string): Uint8Array {
  const inner = readTlv(t.value, 0, what);
  if (inner.tag !== OCTET_STRING || inner.end !== t.value.length) bad(what, 'not one OCTET STRING');
  return inner.value;
}

export function encodeTsRequest(r: TsRequest): Uint8Array {
  const fields: Uint8Array[] = [tlv(ctx(0), derUnsigned(r.version))];
  if (r.negoTokens && r.negoTokens.length > 0)
    fields.push(
      tlv(
        ctx(1),
        tlv(SEQUENCE, ...r.negoTokens.map((t) => tlv(SEQUENCE, tlv(ctx(0), tlv(OCTET_STRING, t))))),
      ),
    );
  if (r.authInfo) fields.push(tlv(ctx(2), tlv(OCTET_STRING, r.authInfo)));
  if (r.pubKeyAuth) fields.push(tlv(ctx(3), tlv(OCTET_STRING, r.pubKeyAuth)));
  if (r.errorCode !== undefined) fields.push(tlv(ctx(4), derUnsigned(r.errorCode)));
  if (r.clientNonce) fields.push(tlv(ctx(5), tlv(OCTET_STRING, r.clientNonce)));
  return tlv(SEQUENCE, ...fields);
}

/** The length of the DER element at the start of `buf`, or undefined while it is incomplete. */
export function derElementLength(buf: Uint8Array): number | undefined {
  if (buf.length < 2) return undefined;
  const first = buf[1]!;
  if (!(first & 0x80)) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 3) bad('TSRequest', `a length of ${n} bytes`);
  if (buf.length < 2 + n) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + buf[2 + i]!;
  return 2 + n + len;
}

/** Decodes a TSRequest; the fields in tag order, each at most once, unknown ones refused. */
export function decodeTsRequest(buf: Uint8Array): TsRequest {
  const top = readTlv(buf, 0, 'TSRequest');
  if (top.tag !== SEQUENCE || top.end !== buf.length) bad('TSRequest', 'not one SEQUENCE');
  let version: number | undefined;
  const out: {
    negoTokens?: Uint8Array[];
    authInfo?: Uint8Array;
    pubKeyAuth?: Uint8Array;
    errorCode?: number;
    clientNonce?: Uint8Array;
  } = {};
  let last = -1;
  for (const f of readChildren(top.value, 'TSRequest')) {
    const n = f.tag - 0xa0;
    if (n < 0 || n > 5) bad('TSRequest', `unexpected tag 0x${f.tag.toString(16)}`);
    if (n <= last) bad('TSRequest', `field [${n}] out of order or repeated`);
    last = n;
    switch (n) {
      case 0: {
        const i = readTlv(f.value, 0, 'TSRequest.version');
        if (i.tag !== INTEGER) bad('TSRequest.version', 'not an INTEGER');
        version = readInteger(i.value, 'TSRequest.version');
        break;
      }
      case 1: {
        const seq = readTlv(f.value, 0, 'TSRequest.negoTokens');
        if (seq.tag !== SEQUENCE) bad('TSRequest.negoTokens', 'not a SEQUENCE OF');
        out.negoTokens = readChildren(seq.value, 'NegoData').map((item) => {
          if (item.tag !== SEQUENCE) bad('NegoData', 'an item that is not a SEQUENCE');
          const t = readTlv(item.value, 0, 'NegoData.negoToken');
          if (t.tag !== ctx(0)) bad('NegoData', 'no negoToken [0]');
          return octets(t, 'NegoData.negoToken');
        });
        break;
      }
      case 2:
        out.authInfo = octets(f, 'TSRequest.authInfo');
        break;
      case 3:
        out.pubKeyAuth = octets(f, 'TSRequest.pubKeyAuth');
        break;
      case 4: {
        const i = readTlv(f.value, 0, 'TSRequest.errorCode');
        if (i.tag !== INTEGER) bad('TSRequest.errorCode', 'not an INTEGER');
        out.errorCode = readInteger(i.value, 'TSRequest.errorCode');
        break;
      }
      case 5:
        out.clientNonce = octets(f, 'TSRequest.clientNonce');
        break;
    }
  }
  if (version === undefined) bad('TSRequest', 'no version');
  return { version, ...out };
}

export interface PasswordCredentials {
  readonly domain: string;
  readonly userName: string;
  readonly password: string;
}

/** TSCredentials (credType 1) around TSPasswordCreds, every string UTF-16LE (MS-CSSP 2.2.1.2, 2.2.1.2.1). */
export function encodeTsCredentials(c: PasswordCredentials): Uint8Array {
  // Every intermediate copy of the password is zeroed before returning: only the result holds it (the caller
  // zeroes that once it is sealed).
  const copies: Uint8Array[] = [];
  const keep = (b: Uint8Array) => {
    copies.push(b);
    return b;
  };
  const password = keep(tlv(ctx(2), keep(tlv(OCTET_STRING, keep(utf16le(c.password))))));
  const passwordCreds = keep(
    tlv(
      SEQUENCE,
      tlv(ctx(0), tlv(OCTET_STRING, utf16le(c.domain))),
      tlv(ctx(1), tlv(OCTET_STRING, utf16le(c.userName))),
      password,
    ),
  );
  const inner = keep(tlv(ctx(1), keep(tlv(OCTET_STRING, passwordCreds))));
  const out = tlv(SEQUENCE, tlv(ctx(0), derUnsigned(1)), inner);
  for (const b of copies) b.fill(0);
  return out;
}

/** The reverse of encodeTsCredentials (for tests and a future acceptor). */
export function decodeTsCredentials(buf: Uint8Array): PasswordCredentials {
  const top = readTlv(buf, 0, 'TSCredentials');
  if (top.tag !== SEQUENCE) bad('TSCredentials', 'not a SEQUENCE');
  const [type, creds] = readChildren(top.value, 'TSCredentials');
  if (type?.tag !== ctx(0) || creds?.tag !== ctx(1)) bad('TSCredentials', 'missing fields');
  const t = readTlv(type.value, 0, 'TSCredentials.credType');
  if (readInteger(t.value, 'credType') !== 1) bad('TSCredentials', 'not password credentials');
  const inner = readTlv(octets(creds, 'TSCredentials.credentials'), 0, 'TSPasswordCreds');
  const parts = readChildren(inner.value, 'TSPasswordCreds');
  if (parts.length !== 3) bad('TSPasswordCreds', `${parts.length} fields`);
  const [d, u, p] = parts.map((x, i) => {
    if (x.tag !== ctx(i)) bad('TSPasswordCreds', `field ${i}`);
    return fromUtf16le(octets(x, 'TSPasswordCreds'));
  }) as [string, string, string];
  return { domain: d, userName: u, password: p };
}

/**
 * `DOMAIN\user` → domain and user; `user@realm` and a bare `user` keep the whole name with an empty domain (the
 * server resolves a UPN itself), as Windows' CredSSP client sends them.
 */
export function splitUserName(name: string): { domain: string; userName: string } {
  const slash = name.indexOf('\\');
  if (slash >= 0) return { domain: name.slice(0, slash), userName: name.slice(slash + 1) };
  return { domain: '', userName: name };
}
