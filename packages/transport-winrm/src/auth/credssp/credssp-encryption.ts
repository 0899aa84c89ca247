import { authError } from '../auth-error.ts';
import { ascii, concatBytes, u32le } from '../bytes.ts';
import { type DecryptedBody, type EncryptedBody, parseContentType } from '../winrm-encryption.ts';
import { type TlsPipe, tlsTrailerLength } from './tls-pipe.ts';

/** MS-WSMV 2.2.9.1.3: the `protocol` of a body encrypted with a CredSSP context. */
export const CREDSSP_SESSION_ENCRYPTED = 'application/HTTP-CredSSP-session-encrypted';
/** A CredSSP-encrypted part holds at most 16 KiB of SOAP (one TLS record); a longer message has several. */
export const CREDSSP_CHUNK = 16384;

const BOUNDARY = 'Encrypted Boundary';
const MAX_HEADER_LINE = 1024;
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
  let chunks = 0;
  for (let o = 0; o === 0 || o < soap.length; o += CREDSSP_CHUNK) {
    const chunk = soap.subarray(o, o + CREDSSP_CHUNK);
    const records = await tls.wrap(chunk);
    chunks++;
    parts.push(
      ascii(
        `--${BOUNDARY}\r\n` +
          `\tContent-Type: ${CREDSSP_SESSION_ENCRYPTED}\r\n` +
          `\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${chunk.length}\r\n` +
          `--${BOUNDARY}\r\n` +
          '\tContent-Type: application/octet-stream\r\n',
      ),
      u32le(tlsTrailerLength(chunk.length, cipher)),
      records,
    );
  }
  parts.push(ascii(`--${BOUNDARY}--\r\n`));
  const type = chunks > 1 ? 'multipart/x-multi-encrypted' : 'multipart/encrypted';
  return {
    contentType: `${type};protocol="${CREDSSP_SESSION_ENCRYPTED}";boundary="${BOUNDARY}"`,
    body: concatBytes(...parts),
  };
}

function invalid(why: string): never {
  throw authError('WinRMEncryptedBodyInvalid', `invalid CredSSP-encrypted WinRM body: ${why}`);
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
  const ct = parseContentType(contentType);
  if (ct.type !== 'multipart/encrypted' && ct.type !== 'multipart/x-multi-encrypted')
    invalid(`Content-Type ${ct.type} is not multipart/encrypted`);
  if ((ct.params.get('protocol') ?? '').toLowerCase() !== CREDSSP_SESSION_ENCRYPTED.toLowerCase())
    invalid(`protocol ${JSON.stringify(ct.params.get('protocol'))}, expected ${CREDSSP_SESSION_ENCRYPTED}`);
  const boundary = ct.params.get('boundary');
  if (!boundary) invalid('no boundary parameter');
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let pos = 0;
  const boundaryAt = (at: number): number | undefined => {
    for (const marker of [`--${boundary}`, `-- ${boundary}`]) {
      const m = Buffer.from(marker, 'latin1');
      if (buf.length - at >= m.length && buf.subarray(at, at + m.length).equals(m)) return at + m.length;
    }
    return undefined;
  };
  const line = (): string => {
    const end = buf.indexOf('\r\n', pos, 'latin1');
    if (end < 0 || end - pos > MAX_HEADER_LINE) invalid(`no header line end at ${pos}`);
    const s = buf.subarray(pos, end).toString('latin1');
    pos = end + 2;
    return s;
  };
  const boundaryLine = (where: string) => {
    const after = boundaryAt(pos);
    if (after === undefined) invalid(`expected the boundary ${where} at offset ${pos}`);
    pos = after;
    if (line().trim() !== '') invalid(`text after the boundary ${where}`);
  };

  const records: Uint8Array[] = [];
  let total = 0;
  let originalContentType = '';
  for (;;) {
    boundaryLine('before the metadata part');
    let length: number | undefined;
    while (boundaryAt(pos) === undefined) {
      const h = line().trim();
      const colon = h.indexOf(':');
      if (colon < 0) invalid('a metadata line without a colon');
      const name = h.slice(0, colon).trim().toLowerCase();
      const value = h.slice(colon + 1).trim();
      if (name === 'content-type' && value.toLowerCase() !== CREDSSP_SESSION_ENCRYPTED.toLowerCase())
        invalid(`metadata Content-Type ${JSON.stringify(value)}`);
      if (name === 'originalcontent') {
        const oc = parseContentType(value.replace(/^type\s*=\s*/i, ''));
        const len = oc.params.get('length');
        if (len === undefined || !/^\d{1,10}$/.test(len))
          invalid(`OriginalContent without a valid Length: ${value}`);
        length = Number(len);
        const charset = oc.params.get('charset');
        originalContentType = `${oc.type}${charset ? `;charset=${charset}` : ''}`;
      }
    }
    if (length === undefined) invalid('the metadata part has no OriginalContent');
    boundaryLine('before the encrypted part');
    if (line().trim().toLowerCase().replace(/\s+/g, '') !== 'content-type:application/octet-stream')
      invalid('the encrypted part has no octet-stream header');
    if (buf.length - pos < 4) invalid('truncated before the trailer length');
    pos += 4; // the TLS trailer length: informative, the records carry their own lengths
    const start = pos;
    while (boundaryAt(pos) === undefined) {
      if (buf.length - pos < 5) invalid(`a truncated TLS record at ${pos}`);
      if (buf[pos] !== TLS_APPLICATION_DATA)
        invalid(`TLS record type ${buf[pos]} where application data belongs`);
      const n = buf.readUInt16BE(pos + 3);
      if (n > MAX_RECORD || n > buf.length - pos - 5) invalid(`a TLS record of ${n} bytes overruns the body`);
      pos += 5 + n;
    }
    if (pos === start) invalid('an encrypted part without a TLS record');
    // TLS never makes plaintext longer than its records: a larger Length is a lie, refused before decrypting.
    if (length > pos - start)
      invalid(`OriginalContent Length ${length} exceeds its ${pos - start} bytes of TLS records`);
    records.push(body.subarray(start, pos));
    total += length;
    const after = boundaryAt(pos) as number;
    if (buf.length - after >= 2 && buf.subarray(after, after + 2).toString('latin1') === '--') {
      if (
        buf
          .subarray(after + 2)
          .toString('latin1')
          .trim() !== ''
      )
        invalid('bytes after the closing boundary');
      break;
    }
    if (ct.type === 'multipart/encrypted')
      invalid('multipart/encrypted carries one part pair; more followed');
  }
  // One pass through TLS for all the parts: their plaintext must add up to the sum of their Lengths exactly.
  return { data: await tls.unwrap(concatBytes(...records), total), originalContentType };
}
