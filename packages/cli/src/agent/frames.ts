import type { Socket } from 'node:net';

/**
 * The agent's wire format: each message is a 4-byte big-endian length, then that many bytes of UTF-8 JSON. Both
 * sides bound what they take: a frame over `maxFrame` ends the connection (a hostile or broken local client must
 * not make the agent allocate without bound), and so does a peer that stops reading while more than
 * MAX_PENDING_WRITE bytes wait for it.
 */
export const MAX_CLIENT_FRAME = 1024 * 1024;
export const MAX_AGENT_FRAME = 16 * 1024 * 1024;
export const MAX_PENDING_WRITE = 32 * 1024 * 1024;

export type Message = { readonly t: string } & Record<string, unknown>;

/**
 * Reads frames off a socket; calls `onMessage` for each, `onError` once for a frame too large or not JSON. Returns
 * the reader, for bytes that came off the socket before (bin.js's early connection, fast-path.ts).
 */
export function readFrames(
  socket: Socket,
  maxFrame: number,
  onMessage: (m: Message) => void,
  onError: (why: string) => void,
): (chunk: Buffer) => void {
  // The bytes of the frame being read, kept as they came: joined once the frame is whole (joining at every chunk
  // copied a 16 MB frame in 64 KB chunks 256 times, about 2 GB).
  let chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  const fail = (why: string): void => {
    failed = true;
    chunks = [];
    size = 0;
    onError(why);
  };
  const read = (chunk: Buffer) => {
    if (failed) return;
    chunks.push(chunk);
    size += chunk.length;
    while (size >= 4) {
      if ((chunks[0] as Buffer).length < 4) chunks = [Buffer.concat(chunks, size)];
      const len = (chunks[0] as Buffer).readUInt32BE(0);
      if (len > maxFrame) return fail(`a frame of ${len} bytes is over the limit of ${maxFrame}`);
      if (size < 4 + len) break;
      const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      const body = all.subarray(4, 4 + len).toString('utf8');
      const rest = all.subarray(4 + len);
      chunks = rest.length > 0 ? [rest] : [];
      size = rest.length;
      let m: unknown;
      try {
        m = JSON.parse(body);
      } catch {
        return fail('a frame is not JSON');
      }
      if (typeof m !== 'object' || m === null || typeof (m as { t?: unknown }).t !== 'string')
        return fail('a frame is not a message');
      onMessage(m as Message);
      if (failed) return;
    }
  };
  socket.on('data', read);
  return read;
}

/** Writes one message; false when the peer is gone or has stopped reading (the connection is then destroyed). */
export function writeFrame(socket: Socket, m: Message): boolean {
  if (socket.destroyed || !socket.writable) return false;
  if (socket.writableLength > MAX_PENDING_WRITE) {
    socket.destroy();
    return false;
  }
  const body = Buffer.from(JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  socket.write(Buffer.concat([head, body]));
  return true;
}
