import { concatList } from '../bytes.ts';
import {
  CLOSING_BOUNDARY,
  encryptedContentType,
  invalidBody,
  partPairHeader,
  walkEncryptedParts,
} from '../encrypted-parts.ts';
import type { DecryptedBody, EncryptedBody } from '../winrm-encryption.ts';
import { type TlsPipe, tlsTrailerLength } from './tls-pipe.ts';

/** MS-WSMV 2.2.9.1.3: the `protocol` of a body encrypted with a CredSSP context. */
export const CREDSSP_SESSION_ENCRYPTED = 'application/HTTP-CredSSP-session-encrypted';
/** A CredSSP-encrypted part holds at most 16 KiB of SOAP (one TLS record); a longer message has several. */
export const CREDSSP_CHUNK = 16384;

const TLS_APPLICATION_DATA = 0x17;
/** RFC 5246 6.2.3: a TLSCiphertext fragment is at most 2^14 + 2048 bytes. */
const MAX_RECORD = 16384 + 2048;

/**
 * The SOAP envelope as WinRM's CredSSP encryption lays it out (MS-WSMV 2.2.9.1.3): each 16 KiB chunk one part
 * pair, the octet-stream part `u32le(TLS trailer length) ‖ the TLS record(s)`; one chunk is `multipart/encrypted`,
 * more are `multipart/x-multi-encrypted`. OriginalContent's Length is the chunk's plaintext length.
 */
export async function encryptCredsspBody(tls: TlsPipe, soap: Uint8Array): Promise<EncryptedBody> {
  const parts: Uint8Array[] = [];
  const cipher = tls.cipherName();
  let pairs = 0;
  for (let o = 0; o === 0 || o < soap.length; o += CREDSSP_CHUNK) {
    const chunk = soap.subarray(o, o + CREDSSP_CHUNK);
    const records = await tls.wrap(chunk);
    pairs++;
    parts.push(
      partPairHeader(CREDSSP_SESSION_ENCRYPTED, chunk.length, tlsTrailerLength(chunk.length, cipher)),
      records,
    );
  }
  return {
    contentType: encryptedContentType(CREDSSP_SESSION_ENCRYPTED, pairs),
    body: concatList([...parts, CLOSING_BOUNDARY]),
  };
}

/**
 * Parses and decrypts a CredSSP-encrypted answer (either form). The encrypted part is walked record by record
 * (each TLS record header gives its length) up to the next boundary, so no length is trusted beyond the body;
 * the plaintext must be exactly the sum of the parts' OriginalContent Lengths.
 */
export async function decryptCredsspBody(
  tls: TlsPipe,
  contentType: string,
  body: Uint8Array,
): Promise<DecryptedBody> {
  // The prefix is the TLS trailer length, informative: the records carry their own lengths, so the part is walked
  // record by record up to the boundary.
  const walked = walkEncryptedParts(contentType, body, CREDSSP_SESSION_ENCRYPTED, (part) => {
    const buf = part.body;
    let pos = part.start;
    while (!part.atBoundary(pos)) {
      if (buf.length - pos < 5) invalidBody(`a truncated TLS record at ${pos}`);
      if (buf[pos] !== TLS_APPLICATION_DATA)
        invalidBody(`TLS record type ${buf[pos]} where application data belongs`);
      const n = buf.readUInt16BE(pos + 3);
      if (n > MAX_RECORD || n > buf.length - pos - 5)
        invalidBody(`a TLS record of ${n} bytes overruns the body`);
      pos += 5 + n;
    }
    if (pos === part.start) invalidBody('an encrypted part without a TLS record');
    return pos;
  });
  // One pass through TLS for all the parts: their plaintext must add up to the sum of their Lengths exactly.
  const records = concatList(walked.parts.map((p) => p.encrypted));
  return { data: await tls.unwrap(records, walked.length), originalContentType: walked.originalContentType };
}
