import { authError } from './auth-error.ts';
import { ascii, concatBytes, u32le } from './bytes.ts';
import type { WrappedMessage } from './ntlm-context.ts';

/** What message encryption needs from a security context (NtlmContext, SpnegoNtlm, GssInitiator). */
export interface WinrmSecurityContext {
  wrap(data: Uint8Array): WrappedMessage;
  unwrap(header: Uint8Array, data: Uint8Array): Uint8Array;
}

/** The `protocol` of MS-WSMV 2.2.9.1.1.1 for a context set up with `Negotiate` (SPNEGO or raw NTLM). */
export const SPNEGO_SESSION_ENCRYPTED = 'application/HTTP-SPNEGO-session-encrypted';
/** MS-WSMV 2.2.9.1.2.1, for the `Kerberos` scheme. */
export const KERBEROS_SESSION_ENCRYPTED = 'application/HTTP-Kerberos-session-encrypted';

const BOUNDARY = 'Encrypted Boundary';
const MAX_HEADER_LINE = 1024;
const MAX_SIGNATURE = 1024;

export interface EncryptedBody {
  /** The HTTP Content-Type of the request. */
  readonly contentType: string;
  readonly body: Uint8Array;
}

/**
 * MS-WSMV 2.2.9.1.1: the SOAP envelope sealed into a two-part multipart/encrypted body. Every header line starts
 * with a tab; the octet-stream part is `u32le(len(signature)) ‖ signature ‖ sealed`, and the closing boundary
 * follows the sealed bytes with no CRLF between them. Length counts the data as sealed: the SOAP length, plus
 * the padding a Kerberos wrap may append after it (gss_wrap_iov's PADDING buffer; none for AES, nor for NTLM).
 */
export function encryptWinrmBody(
  ctx: WinrmSecurityContext,
  soap: Uint8Array,
  protocol: string = SPNEGO_SESSION_ENCRYPTED,
  charset: 'UTF-8' | 'UTF-16' = 'UTF-8',
): EncryptedBody {
  const { header, data } = ctx.wrap(soap);
  const body = concatBytes(
    ascii(
      `--${BOUNDARY}\r\n` +
        `\tContent-Type: ${protocol}\r\n` +
        `\tOriginalContent: type=application/soap+xml;charset=${charset};Length=${data.length}\r\n` +
        `--${BOUNDARY}\r\n` +
        '\tContent-Type: application/octet-stream\r\n',
    ),
    u32le(header.length),
    header,
    data,
    ascii(`--${BOUNDARY}--\r\n`),
  );
  return { contentType: `multipart/encrypted;protocol="${protocol}";boundary="${BOUNDARY}"`, body };
}

export interface DecryptedBody {
  /** The SOAP envelope (all parts concatenated, for the chunked form). */
  readonly data: Uint8Array;
  /** The OriginalContent type and charset, e.g. `application/soap+xml;charset=UTF-8`. */
  readonly originalContentType: string;
}

function invalid(why: string): never {
  throw authError('WinRMEncryptedBodyInvalid', `invalid encrypted WinRM body: ${why}`);
}

/** Media type and parameters of a Content-Type value; parameter names lower-cased, quotes removed. */
export function parseContentType(value: string): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const re = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))\s*/y;
  re.lastIndex = semi < 0 ? value.length : semi;
  while (re.lastIndex < value.length) {
    const m = re.exec(value);
    if (!m) break;
    params.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
  }
  return { type, params };
}

/**
 * Parses and decrypts a multipart/encrypted response (MS-WSMV 2.2.9.1.1.2), or the chunked
 * multipart/x-multi-encrypted form (2.2.9.1.3.2: several part pairs, one sealed chunk each). Every length is
 * checked against the body before use; each chunk's signature and sequence number are verified by the context.
 */
export function decryptWinrmBody(
  ctx: WinrmSecurityContext,
  contentType: string,
  body: Uint8Array,
  protocol: string = SPNEGO_SESSION_ENCRYPTED,
): DecryptedBody {
  const ct = parseContentType(contentType);
  const multi = ct.type === 'multipart/x-multi-encrypted';
  if (ct.type !== 'multipart/encrypted' && !multi)
    invalid(`Content-Type ${ct.type} is not multipart/encrypted`);
  if ((ct.params.get('protocol') ?? '').toLowerCase() !== protocol.toLowerCase())
    invalid(`protocol ${JSON.stringify(ct.params.get('protocol'))}, expected ${protocol}`);
  const boundary = ct.params.get('boundary');
  if (!boundary) invalid('no boundary parameter');

  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let pos = 0;
  /** `--boundary` (Exchange writes `-- boundary`, pypsrp tolerates it; so do we). Returns the offset after it. */
  const boundaryAt = (at: number): number | undefined => {
    for (const marker of [`--${boundary}`, `-- ${boundary}`]) {
      const m = Buffer.from(marker, 'latin1');
      if (buf.length - at >= m.length && buf.subarray(at, at + m.length).equals(m)) return at + m.length;
    }
    return undefined;
  };
  const line = (): string => {
    const end = buf.indexOf('\r\n', pos, 'latin1');
    if (end < 0 || end - pos > MAX_HEADER_LINE)
      invalid(`no header line end within ${MAX_HEADER_LINE} bytes at ${pos}`);
    const s = buf.subarray(pos, end).toString('latin1');
    pos = end + 2;
    return s;
  };
  const expectBoundaryLine = (where: string) => {
    const after = boundaryAt(pos);
    if (after === undefined) invalid(`expected the boundary ${where} at offset ${pos}`);
    pos = after;
    if (line().trim() !== '') invalid(`text after the boundary ${where}`);
  };

  const parts: Uint8Array[] = [];
  let originalContentType = '';
  for (;;) {
    expectBoundaryLine('before the metadata part');
    let length: number | undefined;
    let sawProtocol = false;
    // Metadata headers up to the next boundary line.
    while (boundaryAt(pos) === undefined) {
      const h = line().trim();
      const colon = h.indexOf(':');
      if (colon < 0) invalid(`a metadata line without a colon: ${JSON.stringify(h.slice(0, 80))}`);
      const name = h.slice(0, colon).trim().toLowerCase();
      const value = h.slice(colon + 1).trim();
      if (name === 'content-type') {
        if (value.toLowerCase() !== protocol.toLowerCase())
          invalid(`metadata Content-Type ${JSON.stringify(value)}`);
        sawProtocol = true;
      } else if (name === 'originalcontent') {
        // "type=application/soap+xml;charset=UTF-8;Length=N": the media type itself comes as a parameter.
        const oc = parseContentType(value.replace(/^type\s*=\s*/i, ''));
        const len = oc.params.get('length');
        if (len === undefined || !/^\d{1,10}$/.test(len))
          invalid(`OriginalContent without a valid Length: ${value}`);
        length = Number(len);
        const charset = oc.params.get('charset');
        originalContentType = `${oc.type}${charset ? `;charset=${charset}` : ''}`;
      }
    }
    if (!sawProtocol) invalid('the metadata part has no Content-Type');
    if (length === undefined) invalid('the metadata part has no OriginalContent');
    expectBoundaryLine('before the encrypted part');
    const ctLine = line().trim();
    if (ctLine.toLowerCase().replace(/\s+/g, '') !== 'content-type:application/octet-stream')
      invalid(`encrypted part header ${JSON.stringify(ctLine.slice(0, 80))}`);
    if (buf.length - pos < 4) invalid('truncated before the signature length');
    const sigLen = buf.readUInt32LE(pos);
    pos += 4;
    if (sigLen > MAX_SIGNATURE || sigLen > buf.length - pos)
      invalid(`signature length ${sigLen} exceeds the ${buf.length - pos} bytes that remain`);
    const header = body.subarray(pos, pos + sigLen);
    pos += sigLen;
    // MS-WSMV 2.2.9.1.1.2.2: the encrypted data's length equals OriginalContent's Length (NTLM: no padding).
    if (length > buf.length - pos)
      invalid(`Length ${length} exceeds the ${buf.length - pos} bytes that remain`);
    const sealed = body.subarray(pos, pos + length);
    pos += length;
    const after = boundaryAt(pos);
    if (after === undefined) invalid(`the encrypted data is not followed by the boundary (offset ${pos})`);
    parts.push(ctx.unwrap(header, sealed));
    if (buf.length - after >= 2 && buf.subarray(after, after + 2).toString('latin1') === '--') {
      pos = after + 2;
      const rest = buf.subarray(pos).toString('latin1');
      if (rest.trim() !== '') invalid('bytes after the closing boundary');
      break;
    }
    if (!multi) invalid('multipart/encrypted carries one part pair; more followed');
  }
  return { data: concatBytes(...parts), originalContentType };
}
