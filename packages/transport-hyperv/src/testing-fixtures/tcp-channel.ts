import { connect, type Socket } from 'node:net';
import { type StreamChannel, streamChannel } from '../byte-channel.ts';
import type { ClosableChannel } from '../handshake.ts';

/** A ByteChannel over a TCP connection to 127.0.0.1:port, closable like a Hyper-V socket. */
export async function tcpChannel(
  port: number,
): Promise<ClosableChannel & StreamChannel & { socket: Socket }> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const ch = streamChannel(socket);
  return Object.assign(ch, {
    socket,
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.once('close', () => resolve());
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      }),
  });
}
