import { concatBytes, concatList } from './bytes.ts';
import {
  CLOSING_BOUNDARY,
  encryptedContentType,
  invalidBody,
  partPairHeader,
  walkEncryptedParts,
} from './encrypted-parts.ts';
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

const MAX_SIGNATURE = 1024;

export { parseContentType } from './encrypted-parts.ts';

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
    partPairHeader(protocol, data.length, header.length, charset),
    header,
    data,
    CLOSING_BOUNDARY,
  );
  return { contentType: encryptedContentType(protocol, 1), body };
}

export interface DecryptedBody {
  /** The SOAP envelope (all parts concatenated, for the chunked form). */
  readonly data: Uint8Array;
  /** The OriginalContent type and charset, e.g. `application/soap+xml;charset=UTF-8`. */
  readonly originalContentType: string;
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
  // MS-WSMV 2.2.9.1.1.2.2: the octet-stream part is the signature (the prefix is its length), then the sealed
  // data, as long as OriginalContent's Length (the data as sealed: no padding for NTLM, nor for AES Kerberos).
  const walked = walkEncryptedParts(contentType, body, protocol, ({ body: buf, start, prefix, length }) => {
    if (prefix > MAX_SIGNATURE || prefix > buf.length - start)
      invalidBody(`signature length ${prefix} exceeds the ${buf.length - start} bytes that remain`);
    return start + prefix + length;
  });
  const parts = walked.parts.map((p) =>
    ctx.unwrap(p.encrypted.subarray(0, p.prefix), p.encrypted.subarray(p.prefix)),
  );
  return { data: concatList(parts), originalContentType: walked.originalContentType };
}
