import type { Duplex } from 'node:stream';

/**
 * One connected Hyper-V socket as the handshake sees it. PowerShell Direct has no framing: each message is one
 * send, and each reply is whatever one receive returns (RemoteSessionHyperVSocket.cs ReceiveResponse), so a
 * channel hands out bytes as they arrived, never merged with later ones it has not been asked for.
 */
export interface ByteChannel {
  /** Sends one message in one send. */
  write(data: Uint8Array): Promise<void>;
  /**
   * One receive: waits until bytes are there, then returns at most `max` of them (what is left over stays for
   * the next read). An empty array is the end of the stream. Rejects with the signal's reason when it aborts.
   */
  read(max: number, signal: AbortSignal): Promise<Uint8Array>;
}

/** A ByteChannel over a Node Duplex (a net.Socket, the Hyper-V socket's Duplex), plus what is left after it. */
export interface StreamChannel extends ByteChannel {
  /**
   * Stops reading for the handshake and puts the bytes that arrived but were not read (the first OutOfProc data)
   * back at the front of the stream, paused, for its next reader. Returns how many bytes that was.
   */
  release(): number;
}

/** Wraps a Duplex as a ByteChannel; `release()` gives the stream back with no byte lost. */
export function streamChannel(stream: Duplex): StreamChannel {
  const chunks: Buffer[] = [];
  let ended = false;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const onData = (b: Buffer) => {
    chunks.push(b);
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  const onError = (e: Error) => {
    failed = e;
    wake?.();
  };
  stream.on('data', onData);
  stream.once('end', onEnd);
  stream.once('error', onError);
  return {
    write(data) {
      return new Promise((resolve, reject) => {
        stream.write(data, (e) => (e ? reject(e) : resolve()));
      });
    },
    async read(max, signal) {
      while (chunks.length === 0 && !ended && !failed) {
        signal.throwIfAborted();
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(signal.reason);
          wake = () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          };
          signal.addEventListener('abort', onAbort, { once: true });
        }).finally(() => {
          wake = undefined;
        });
      }
      if (failed && chunks.length === 0) throw failed;
      const first = chunks[0];
      if (!first) return new Uint8Array(0);
      if (first.length <= max) {
        chunks.shift();
        return first;
      }
      chunks[0] = first.subarray(max);
      return first.subarray(0, max);
    },
    release() {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
      const rest = Buffer.concat(chunks.splice(0));
      if (rest.length > 0 && !ended) stream.unshift(rest);
      return rest.length;
    },
  };
}
