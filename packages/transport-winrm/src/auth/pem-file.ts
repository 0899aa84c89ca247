import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';

/**
 * Reading certificate and key files that anyone may have put in the certificate directory, bounded in time and
 * memory whatever they are: the file is opened once and everything is decided on that descriptor (fstat, not the
 * path: a file swapped between a check and the read changes nothing), a FIFO is opened without blocking and then
 * refused, devices (/dev/zero) and directories are refused, and no more than `maxBytes` are ever read.
 */

/** A regular file's text and the fstat of the descriptor it was read through. */
export interface BoundedFile {
  readonly ok: true;
  readonly text: string;
  readonly stat: Stats;
  /** The bytes, when asked for (`keepBytes`): a DER certificate is no text. Otherwise they are wiped. */
  readonly bytes?: Buffer;
}

/** Why a file was not read: its errno (ENOENT, EACCES, ELOOP, ...), not a regular file, or over the limit. */
export interface UnreadFile {
  readonly ok: false;
  readonly reason: 'error' | 'notFile' | 'tooLarge';
  /** The errno code for 'error'; the kind of file for 'notFile' (fifo, device, directory, socket). */
  readonly detail: string;
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever. O_NOCTTY: a terminal device
// named here must not become our controlling terminal. Neither exists on Windows (0 there).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
const CHUNK = 64 * 1024;

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'fifo';
  if (st.isDirectory()) return 'directory';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  if (st.isSocket()) return 'socket';
  return 'not a regular file';
}

/**
 * Reads at most `maxBytes` of the regular file at `path` (symbolic links followed, the target is what is checked).
 * Never throws for the file's sake: the reason comes back instead.
 */
export function readBoundedFile(
  path: string,
  maxBytes: number,
  options: { readonly keepBytes?: boolean } = {},
): BoundedFile | UnreadFile {
  let fd: number;
  try {
    // Not even opened when it is no regular file now (opening a device can have effects of its own, a tape
    // rewinds); the fstat below is what decides, for a file swapped in between.
    const now = statSync(path);
    if (!now.isFile()) return { ok: false, reason: 'notFile', detail: kindOf(now) };
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    return { ok: false, reason: 'error', detail: (e as NodeJS.ErrnoException).code ?? 'EIO' };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { ok: false, reason: 'notFile', detail: kindOf(stat) };
    if (stat.size > maxBytes) return { ok: false, reason: 'tooLarge', detail: String(stat.size) };
    // The size fstat gives is not trusted (procfs files say 0, a file may grow): read up to the limit plus one.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, maxBytes + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) return { ok: false, reason: 'tooLarge', detail: `more than ${maxBytes}` };
    }
    const data = Buffer.concat(chunks, total);
    const text = data.toString('utf8');
    for (const c of chunks) c.fill(0);
    if (options.keepBytes) return { ok: true, text, stat, bytes: data };
    // The bytes may hold a private key: not left behind in the buffers Node pools.
    data.fill(0);
    return { ok: true, text, stat };
  } catch (e) {
    return { ok: false, reason: 'error', detail: (e as NodeJS.ErrnoException).code ?? 'EIO' };
  } finally {
    closeSync(fd);
  }
}

/** A PEM block (RFC 7468): its label and its whole text, BEGIN and END lines included. */
export interface PemBlock {
  readonly label: string;
  readonly text: string;
}

/** The PEM labels psremote reads; any other block is passed over. */
export const PEM_LABELS = [
  'CERTIFICATE',
  'PRIVATE KEY',
  'ENCRYPTED PRIVATE KEY',
  'RSA PRIVATE KEY',
  'EC PRIVATE KEY',
] as const;
const KNOWN = new Set<string>(PEM_LABELS);

/**
 * The PEM blocks of `text` with a known label, in order, at most `max` of them (`more` says there were others).
 * Linear in the text whatever it holds (a regular expression with a lazy `[\s\S]+?` between BEGIN and END is
 * quadratic on a megabyte of BEGIN lines without an END): each search starts where the last one stopped, and a
 * label whose END is missing is not searched for again.
 */
export function pemBlocks(text: string, max: number): { blocks: PemBlock[]; more: boolean } {
  const blocks: PemBlock[] = [];
  const noEnd = new Set<string>();
  let pos = 0;
  for (;;) {
    const begin = text.indexOf('-----BEGIN ', pos);
    if (begin < 0) return { blocks, more: false };
    const labelStart = begin + 11;
    const labelEnd = text.indexOf('-----', labelStart);
    if (labelEnd < 0) return { blocks, more: false };
    const label = text.slice(labelStart, labelEnd);
    pos = labelEnd + 5;
    if (!KNOWN.has(label) || noEnd.has(label)) continue;
    const endLine = `-----END ${label}-----`;
    const end = text.indexOf(endLine, pos);
    if (end < 0) {
      noEnd.add(label);
      continue;
    }
    if (blocks.length === max) return { blocks, more: true };
    blocks.push({ label, text: text.slice(begin, end + endLine.length) });
    pos = end + endLine.length;
  }
}
