import { type AuthResponse, firstHeader } from '../wsman/auth.ts';
import { authError } from './auth-error.ts';
import { ascii, concatBytes, u32le } from './bytes.ts';

/**
 * The MIME framing that every WinRM message-encryption scheme shares (MS-WSMV 2.2.9.1): NTLM/SPNEGO and Kerberos
 * (winrm-encryption.ts) and CredSSP (credssp/credssp-encryption.ts) differ only in what the octet-stream part holds
 * after its u32le prefix. Writing and walking the parts lives here, once; each scheme seals and unseals.
 */

const BOUNDARY = 'Encrypted Boundary';
const MAX_HEADER_LINE = 1024;
const SINGLE = 'multipart/encrypted';
/** MS-WSMV 2.2.9.1.3.2: several part pairs, one sealed chunk each. */
const MULTI = 'multipart/x-multi-encrypted';

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

/** Whether a response's Content-Type is one of the two encrypted forms (either scheme). */
export function isEncryptedContentType(contentType: string): boolean {
  const type = parseContentType(contentType).type;
  return type === SINGLE || type === MULTI;
}

/**
 * The Content-Type of an answer on a lane whose bodies are sealed, when it is encrypted (either form); `undefined`
 * for an empty body (nothing to decrypt). A body in plaintext is refused: on an encrypted connection the server
 * never answers in clear, so one that does is not to be believed.
 */
export function sealedAnswerType(res: AuthResponse): string | undefined {
  const contentType = firstHeader(res, 'content-type');
  if (isEncryptedContentType(contentType)) return contentType;
  if (res.body.length === 0) return undefined;
  const type = parseContentType(contentType).type;
  throw authError(
    'WinRMEncryptedBodyInvalid',
    `the server answered HTTP ${res.status} in plaintext (${type ? shown(type) : 'no Content-Type'}) on an encrypted connection`,
  );
}

/**
 * The answer to a sealed request whose lane has no established sealing context any more (the connection was reset,
 * or another handshake replaced the context, while the request was in flight): it cannot be unsealed, and a
 * plaintext one is not to be believed. Nothing when the request was not sealed (the body as received is fine).
 */
export function refuseOrphanedAnswer(res: AuthResponse): void {
  if (!res.requestSealed) return;
  throw authError(
    'WinRMEncryptedBodyInvalid',
    `the answer (HTTP ${res.status}) to an encrypted request arrived after the connection's security context was reset; it is not read`,
  );
}

/**
 * One part pair as written (MS-WSMV 2.2.9.1.1.1): every header line starts with a tab, OriginalContent's Length is
 * the plaintext length of this chunk, and the octet-stream part opens with `u32le(prefix)`. The encrypted bytes go
 * right after it, with no CRLF before the next boundary.
 */
export function partPairHeader(
  protocol: string,
  length: number,
  prefix: number,
  charset = 'UTF-8',
): Uint8Array {
  return concatBytes(
    ascii(
      `--${BOUNDARY}\r\n` +
        `\tContent-Type: ${protocol}\r\n` +
        `\tOriginalContent: type=application/soap+xml;charset=${charset};Length=${length}\r\n` +
        `--${BOUNDARY}\r\n` +
        '\tContent-Type: application/octet-stream\r\n',
    ),
    u32le(prefix),
  );
}

/** The closing boundary after the last part pair. */
export const CLOSING_BOUNDARY = ascii(`--${BOUNDARY}--\r\n`);

/** The HTTP Content-Type of a body of `pairs` part pairs. */
export function encryptedContentType(protocol: string, pairs: number): string {
  return `${pairs > 1 ? MULTI : SINGLE};protocol="${protocol}";boundary="${BOUNDARY}"`;
}

/** One part pair of a received body, framing checked, nothing decrypted yet. */
export interface EncryptedPart {
  /** OriginalContent's Length: the plaintext length of this part. */
  readonly length: number;
  /** The u32le opening the octet-stream part: the signature length (NTLM, Kerberos) or the TLS trailer length. */
  readonly prefix: number;
  /** The bytes after the prefix, up to the boundary: signature ‖ sealed data, or the TLS records. */
  readonly encrypted: Uint8Array;
}

export interface EncryptedParts {
  readonly parts: readonly EncryptedPart[];
  /** The sum of the parts' Lengths: the plaintext length of the whole body. */
  readonly length: number;
  /** The OriginalContent type and charset, e.g. `application/soap+xml;charset=UTF-8`. */
  readonly originalContentType: string;
}

/** What a scheme is told about an octet-stream part, to say where its encrypted bytes end. */
export interface PartStart {
  readonly body: Buffer;
  /** The offset of the encrypted bytes (after the prefix). */
  readonly start: number;
  readonly prefix: number;
  /** OriginalContent's Length. */
  readonly length: number;
  /** Whether a boundary line starts at `at`. */
  atBoundary(at: number): boolean;
}

/**
 * Where a scheme's encrypted bytes end. It reads no further than the body; an offset beyond it (a Length the body
 * does not hold) is refused by the walker, as is an end not followed by the boundary.
 */
export type EncryptedExtent = (part: PartStart) => number;

/**
 * Text the server sent, for an error message: quoted, cut to 80 characters, every byte outside printable ASCII
 * escaped, so that a hostile body cannot write terminal control sequences through our error text.
 */
export function shown(text: string): string {
  const cut = text.length > 80 ? `${text.slice(0, 80)}...` : text;
  return `"${cut.replace(/[^\x20-\x7e]|["\\]/g, (c) => {
    const code = c.charCodeAt(0);
    if (code >= 0x20 && code <= 0x7e) return `\\${c}`;
    return code > 0xff
      ? `\\u${code.toString(16).padStart(4, '0')}`
      : `\\x${code.toString(16).padStart(2, '0')}`;
  })}"`;
}

export function invalidBody(why: string): never {
  throw authError('WinRMEncryptedBodyInvalid', `invalid encrypted WinRM body: ${why}`);
}

/**
 * Walks a multipart/encrypted body (MS-WSMV 2.2.9.1.1.2), or the chunked multipart/x-multi-encrypted form
 * (2.2.9.1.3.2), of `protocol`, and returns its parts before anything is decrypted. Every length is checked against
 * the body before use; a part's Length may not exceed its encrypted bytes (no sealing here makes data shorter), and
 * multipart/encrypted carries exactly one part pair.
 */
export function walkEncryptedParts(
  contentType: string,
  body: Uint8Array,
  protocol: string,
  extent: EncryptedExtent,
): EncryptedParts {
  const ct = parseContentType(contentType);
  if (ct.type !== SINGLE && ct.type !== MULTI) invalidBody(`Content-Type ${shown(ct.type)} is not ${SINGLE}`);
  if ((ct.params.get('protocol') ?? '').toLowerCase() !== protocol.toLowerCase())
    invalidBody(`protocol ${shown(ct.params.get('protocol') ?? '')}, expected ${protocol}`);
  const boundary = ct.params.get('boundary');
  if (!boundary) invalidBody('no boundary parameter');

  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const markers = [`--${boundary}`, `-- ${boundary}`].map((m) => Buffer.from(m, 'latin1'));
  let pos = 0;
  /** `--boundary` (Exchange writes `-- boundary`, pypsrp tolerates it; so do we). Returns the offset after it. */
  const boundaryAt = (at: number): number | undefined => {
    for (const m of markers)
      if (buf.length - at >= m.length && buf.subarray(at, at + m.length).equals(m)) return at + m.length;
    return undefined;
  };
  /**
   * One header line, without its end. CRLF as written, a bare LF tolerated (the framing is by length, not by
   * line). The search stops after MAX_HEADER_LINE bytes, so a body without line ends costs no scan of its rest.
   */
  const line = (): string => {
    const lf = buf.subarray(pos, Math.min(buf.length, pos + MAX_HEADER_LINE + 2)).indexOf(0x0a);
    if (lf < 0) invalidBody(`no header line end within ${MAX_HEADER_LINE} bytes at ${pos}`);
    const end = lf > 0 && buf[pos + lf - 1] === 0x0d ? pos + lf - 1 : pos + lf;
    const s = buf.subarray(pos, end).toString('latin1');
    pos += lf + 1;
    return s;
  };
  const expectBoundaryLine = (where: string) => {
    const after = boundaryAt(pos);
    if (after === undefined) invalidBody(`expected the boundary ${where} at offset ${pos}`);
    pos = after;
    if (line().trim() !== '') invalidBody(`text after the boundary ${where}`);
  };

  const parts: EncryptedPart[] = [];
  let total = 0;
  let originalContentType = '';
  for (;;) {
    expectBoundaryLine('before the metadata part');
    let length: number | undefined;
    let sawProtocol = false;
    // Metadata headers up to the next boundary line.
    while (boundaryAt(pos) === undefined) {
      const h = line().trim();
      const colon = h.indexOf(':');
      if (colon < 0) invalidBody(`a metadata line without a colon: ${shown(h)}`);
      const name = h.slice(0, colon).trim().toLowerCase();
      const value = h.slice(colon + 1).trim();
      if (name === 'content-type') {
        if (value.toLowerCase() !== protocol.toLowerCase())
          invalidBody(`metadata Content-Type ${shown(value)}`);
        sawProtocol = true;
      } else if (name === 'originalcontent') {
        // "type=application/soap+xml;charset=UTF-8;Length=N": the media type itself comes as a parameter.
        const oc = parseContentType(value.replace(/^type\s*=\s*/i, ''));
        const len = oc.params.get('length');
        if (len === undefined || !/^\d{1,10}$/.test(len))
          invalidBody(`OriginalContent without a valid Length: ${shown(value)}`);
        length = Number(len);
        const charset = oc.params.get('charset');
        originalContentType = `${oc.type}${charset ? `;charset=${charset}` : ''}`;
      }
    }
    if (!sawProtocol) invalidBody('the metadata part has no Content-Type');
    if (length === undefined) invalidBody('the metadata part has no OriginalContent');
    expectBoundaryLine('before the encrypted part');
    const ctLine = line().trim();
    if (ctLine.toLowerCase().replace(/\s+/g, '') !== 'content-type:application/octet-stream')
      invalidBody(`encrypted part header ${shown(ctLine)}`);
    if (buf.length - pos < 4) invalidBody('truncated before the length prefix of the encrypted part');
    const prefix = buf.readUInt32LE(pos);
    const start = pos + 4;
    const end = extent({
      body: buf,
      start,
      prefix,
      length,
      atBoundary: (at) => boundaryAt(at) !== undefined,
    });
    if (end > buf.length) invalidBody(`Length ${length} exceeds the ${buf.length - start} bytes that remain`);
    if (length > end - start)
      invalidBody(`OriginalContent Length ${length} exceeds its ${end - start} bytes of encrypted data`);
    parts.push({ length, prefix, encrypted: body.subarray(start, end) });
    total += length;
    pos = end;
    const after = boundaryAt(pos);
    if (after === undefined)
      invalidBody(`the encrypted data is not followed by the boundary (offset ${pos})`);
    if (buf.length - after >= 2 && buf[after] === 0x2d && buf[after + 1] === 0x2d) {
      // Only line ends and blanks may follow (OMI writes an extra CRLF); checked byte by byte, no copy.
      for (let i = after + 2; i < buf.length; i++) {
        const c = buf[i];
        if (c !== 0x0a && c !== 0x0d && c !== 0x20 && c !== 0x09)
          invalidBody(`bytes after the closing boundary (offset ${i})`);
      }
      break;
    }
    if (ct.type === SINGLE) invalidBody(`${SINGLE} carries one part pair; more followed`);
  }
  return { parts, length: total, originalContentType };
}
