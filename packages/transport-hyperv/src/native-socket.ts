import { createRequire } from 'node:module';
import { Duplex } from 'node:stream';
import { Worker } from 'node:worker_threads';

/**
 * A stream socket of any address family, bound at run time with koffi, as a Node Duplex. Node cannot adopt a
 * Windows SOCKET (net.Socket takes only pipes and TCP handles it made), so for AF_HYPERV psremote calls Winsock
 * itself: a worker thread owns the blocking connect and a blocking receive loop, and the main thread sends with a
 * send timeout. Nothing waits on the libuv threadpool (koffi's async calls would hold a pool thread for the whole
 * session). Closing shuts the socket down, which ends the worker's receive, then closes it.
 *
 * Two bindings with one shape: Winsock (ws2_32.dll) on Windows, where AF_HYPERV lives, and libc, where the same
 * code is tested with AF_UNIX and AF_INET.
 */

/** The socket calls, bound for one platform. The same source runs in the worker (as text) and here. */
export interface SocketApi {
  socket(family: number, type: number, protocol: number): number | bigint;
  invalid(s: number | bigint): boolean;
  connect(s: number | bigint, addr: Buffer, len: number): number;
  send(s: number | bigint, buf: Buffer, len: number, flags: number): number | bigint;
  recv(s: number | bigint, buf: Buffer, len: number, flags: number): number | bigint;
  shutdown(s: number | bigint, how: number): number;
  close(s: number | bigint): number;
  setsockopt(s: number | bigint, level: number, name: number, value: Buffer, len: number): number;
  errno(): number;
  /** The bytes of a SO_SNDTIMEO value: a DWORD of ms (Winsock), a struct timeval (POSIX). */
  timeout(ms: number): Buffer;
  readonly SOL_SOCKET: number;
  readonly SO_SNDTIMEO: number;
  readonly SHUT_RDWR: number;
  readonly SEND_FLAGS: number;
  /** Error numbers that mean "interrupted, try again" and "timed out". */
  readonly EINTR: number;
  readonly ETIMEDOUT: readonly number[];
}

/**
 * The binding, as JavaScript text: `new Function('koffi', 'platform', BIND_SOURCE)` gives a SocketApi. Text, so that
 * the worker (started with `eval`) runs exactly the same code without a file of its own to find.
 */
export const BIND_SOURCE = `
if (platform === 'win32') {
  const lib = koffi.load('ws2_32.dll');
  const f = (p) => lib.func(p);
  const WSAStartup = f('int __stdcall WSAStartup(uint16_t, uint8_t *)');
  const data = Buffer.alloc(1024);
  const rc = WSAStartup(0x0202, data);
  if (rc !== 0) throw new Error('WSAStartup failed: ' + rc);
  const WSAGetLastError = f('int __stdcall WSAGetLastError()');
  return {
    socket: f('uintptr_t __stdcall socket(int, int, int)'),
    invalid: (s) => BigInt(s) === 0xffffffffffffffffn || BigInt(s) === 0xffffffffn,
    connect: f('int __stdcall connect(uintptr_t, const uint8_t *, int)'),
    send: f('int __stdcall send(uintptr_t, const uint8_t *, int, int)'),
    recv: f('int __stdcall recv(uintptr_t, uint8_t *, int, int)'),
    shutdown: f('int __stdcall shutdown(uintptr_t, int)'),
    close: f('int __stdcall closesocket(uintptr_t)'),
    setsockopt: f('int __stdcall setsockopt(uintptr_t, int, int, const uint8_t *, int)'),
    errno: () => WSAGetLastError(),
    timeout: (ms) => { const b = Buffer.alloc(4); b.writeUInt32LE(ms); return b; },
    SOL_SOCKET: 0xffff, SO_SNDTIMEO: 0x1005, SHUT_RDWR: 2, SEND_FLAGS: 0,
    EINTR: 10004, ETIMEDOUT: [10060],
  };
}
const lib = koffi.load(platform === 'darwin' ? 'libc.dylib' : 'libc.so.6');
const f = (p) => lib.func(p);
return {
  socket: f('int socket(int, int, int)'),
  invalid: (s) => Number(s) < 0,
  connect: f('int connect(int, const uint8_t *, uint32_t)'),
  send: f('intptr_t send(int, const uint8_t *, size_t, int)'),
  recv: f('intptr_t recv(int, uint8_t *, size_t, int)'),
  shutdown: f('int shutdown(int, int)'),
  close: f('int close(int)'),
  setsockopt: f('int setsockopt(int, int, int, const uint8_t *, uint32_t)'),
  errno: () => koffi.errno(),
  timeout: (ms) => { const b = Buffer.alloc(16); b.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0); b.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8); return b; },
  SOL_SOCKET: platform === 'darwin' ? 0xffff : 1, SO_SNDTIMEO: platform === 'darwin' ? 0x1005 : 21, SHUT_RDWR: 2,
  SEND_FLAGS: platform === 'linux' ? 0x4000 : 0,
  EINTR: 4, ETIMEDOUT: [11, 35, 110, 60],
};
`;

/** The worker: socket, options, connect, then receive until the end; every step reported to the main thread. */
const WORKER_SOURCE = `
const { parentPort, workerData: w } = require('node:worker_threads');
let step = 'load';
try {
  const koffi = require(w.koffiPath);
  const api = new Function('koffi', 'platform', w.bindSource)(koffi, w.platform);
  step = 'socket';
  const s = api.socket(w.family, w.type, w.protocol);
  if (api.invalid(s)) throw Object.assign(new Error('socket'), { code: api.errno() });
  parentPort.postMessage({ t: 'socket', handle: s });
  step = 'setsockopt';
  for (const o of w.options) {
    const v = Buffer.from(o.value);
    if (api.setsockopt(s, o.level, o.name, v, v.length) !== 0) throw Object.assign(new Error('setsockopt'), { code: api.errno() });
  }
  step = 'connect';
  const addr = Buffer.from(w.address);
  if (api.connect(s, addr, addr.length) !== 0) throw Object.assign(new Error('connect'), { code: api.errno() });
  parentPort.postMessage({ t: 'connected' });
  step = 'recv';
  const buf = Buffer.alloc(w.receiveSize);
  for (;;) {
    const n = Number(api.recv(s, buf, buf.length, 0));
    if (n > 0) {
      const copy = new Uint8Array(n);
      copy.set(buf.subarray(0, n));
      parentPort.postMessage({ t: 'data', data: copy }, [copy.buffer]);
    } else if (n === 0) {
      parentPort.postMessage({ t: 'end' });
      break;
    } else {
      const code = api.errno();
      if (code === api.EINTR) continue;
      throw Object.assign(new Error('recv'), { code });
    }
  }
} catch (e) {
  parentPort.postMessage({ t: 'error', step, code: e && e.code, message: String(e && e.message || e) });
}
`;

/** A socket option set before connecting. */
export interface SocketOption {
  readonly level: number;
  readonly name: number;
  readonly value: Uint8Array;
}

export interface NativeSocketOptions {
  readonly family: number;
  readonly type: number;
  readonly protocol: number;
  /** The whole sockaddr, as bytes. */
  readonly address: Uint8Array;
  /** Options set before connect (HVSOCKET_CONNECT_TIMEOUT). */
  readonly options?: readonly SocketOption[];
  /** How long connect may take before the socket is closed under it. */
  readonly connectTimeoutMs: number;
  /** SO_SNDTIMEO: a send that cannot go out within this fails instead of blocking the event loop. */
  readonly sendTimeoutMs: number;
  readonly signal?: AbortSignal;
  /** Default: process.platform. */
  readonly platform?: NodeJS.Platform;
  /** Bytes per receive call; default 64 KiB. */
  readonly receiveSize?: number;
  /** Describes the peer in errors. */
  readonly description?: string;
}

/** A socket-level failure: the step, the platform's error number, and its name where known. */
export class NativeSocketError extends Error {
  readonly step: string;
  readonly code: number | undefined;
  constructor(step: string, code: number | undefined, detail?: string) {
    super(
      `${step} failed${code === undefined ? '' : ` (error ${code}${ERROR_NAMES[code] ? `, ${ERROR_NAMES[code]}` : ''})`}${detail ? `: ${detail}` : ''}`,
    );
    this.name = 'NativeSocketError';
    this.step = step;
    this.code = code;
  }
}

/** Winsock's errors that a Hyper-V connect can give (winerror.h), and the POSIX ones the tests meet. */
const ERROR_NAMES: Record<number, string> = {
  10013: 'WSAEACCES: permission denied',
  10047: 'WSAEAFNOSUPPORT: Hyper-V sockets are not available on this host',
  10049: 'WSAEADDRNOTAVAIL: no such virtual machine',
  10050: 'WSAENETDOWN',
  10051: 'WSAENETUNREACH: the virtual machine is not reachable',
  10060: 'WSAETIMEDOUT: the virtual machine did not answer',
  10061: 'WSAECONNREFUSED: nothing listens on that service in the virtual machine',
  111: 'ECONNREFUSED',
  2: 'ENOENT',
  110: 'ETIMEDOUT',
  11: 'EAGAIN (timed out)',
  32: 'EPIPE',
  104: 'ECONNRESET',
};

let koffiPath: string | undefined;
const apis = new Map<string, SocketApi>();

/** koffi, found lazily: a missing or broken koffi fails the connect, not the import of the package. */
export function bindSockets(platform: NodeJS.Platform = process.platform): {
  api: SocketApi;
  koffiPath: string;
} {
  const require = createRequire(import.meta.url);
  koffiPath ??= require.resolve('koffi');
  let api = apis.get(platform);
  if (!api) {
    const koffi = require(koffiPath) as unknown;
    api = new Function('koffi', 'platform', BIND_SOURCE)(koffi, platform) as SocketApi;
    apis.set(platform, api);
  }
  return { api, koffiPath };
}

type WorkerMessage =
  | { t: 'socket'; handle: number | bigint }
  | { t: 'connected' }
  | { t: 'data'; data: Uint8Array }
  | { t: 'end' }
  | { t: 'error'; step: string; code?: number; message: string };

/** The connected socket as a Duplex: reads come from the worker, writes go out from this thread. */
export class NativeSocket extends Duplex {
  private readonly api: SocketApi;
  private readonly worker: Worker;
  private readonly handle: number | bigint;
  private readonly sendFlags: number;
  private shut = false;
  private readonly workerExit: Promise<void>;

  private constructor(api: SocketApi, worker: Worker, handle: number | bigint, workerExit: Promise<void>) {
    super({ allowHalfOpen: false });
    this.api = api;
    this.worker = worker;
    this.handle = handle;
    this.sendFlags = api.SEND_FLAGS;
    this.workerExit = workerExit;
    worker.on('message', (m: WorkerMessage) => {
      if (m.t === 'data') this.push(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
      else if (m.t === 'end') this.push(null);
      else if (m.t === 'error' && !this.shut) this.destroy(new NativeSocketError(m.step, m.code, m.message));
    });
  }

  /** Opens and connects; rejects with NativeSocketError (or the signal's reason) and leaves nothing open. */
  static async connect(o: NativeSocketOptions): Promise<NativeSocket> {
    const platform = o.platform ?? process.platform;
    const { api, koffiPath } = bindSockets(platform);
    const options = [
      ...(o.options ?? []),
      { level: api.SOL_SOCKET, name: api.SO_SNDTIMEO, value: api.timeout(o.sendTimeoutMs) },
    ].map((x) => ({ level: x.level, name: x.name, value: Uint8Array.from(x.value) }));
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        koffiPath,
        bindSource: BIND_SOURCE,
        platform,
        family: o.family,
        type: o.type,
        protocol: o.protocol,
        address: Uint8Array.from(o.address),
        options,
        receiveSize: o.receiveSize ?? 64 * 1024,
      },
    });
    const workerExit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    let handle: number | bigint | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new NativeSocketError('connect', undefined, `no answer within ${o.connectTimeoutMs} ms`)),
          o.connectTimeoutMs,
        );
        const onAbort = () => reject(o.signal?.reason);
        o.signal?.addEventListener('abort', onAbort, { once: true });
        const done = () => {
          clearTimeout(timer);
          o.signal?.removeEventListener('abort', onAbort);
          worker.off('message', onMessage);
        };
        const onMessage = (m: WorkerMessage) => {
          if (m.t === 'socket') handle = m.handle;
          else if (m.t === 'connected') {
            done();
            resolve();
          } else if (m.t === 'error') {
            done();
            reject(new NativeSocketError(m.step, m.code, m.code === undefined ? m.message : undefined));
          }
        };
        worker.on('message', onMessage);
        worker.once('error', (e) => {
          done();
          reject(e);
        });
        if (o.signal?.aborted) onAbort();
      });
    } catch (e) {
      // A connect that hangs is cut off by closing its socket under it; the worker then ends by itself.
      if (handle !== undefined) {
        api.shutdown(handle, api.SHUT_RDWR);
        api.close(handle);
      }
      worker.unref();
      void worker.terminate();
      throw e;
    }
    return new NativeSocket(api, worker, handle as number | bigint, workerExit);
  }

  override _read(): void {
    // The worker pushes as bytes arrive; PSRP's own acknowledgements bound what is in flight.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    try {
      this.sendAll(chunk);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  /** One message in as few sends as the socket takes; each send is bounded by SO_SNDTIMEO. */
  private sendAll(chunk: Buffer): void {
    if (this.shut) throw new NativeSocketError('send', undefined, 'the socket is closed');
    let off = 0;
    while (off < chunk.length) {
      const part = off === 0 ? chunk : Buffer.from(chunk.subarray(off));
      const n = Number(this.api.send(this.handle, part, part.length, this.sendFlags));
      if (n < 0) {
        const code = this.api.errno();
        if (code === this.api.EINTR) continue;
        throw new NativeSocketError('send', code);
      }
      off += n;
    }
  }

  override _final(cb: (e?: Error | null) => void): void {
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    void this.shutdownAndClose().then(
      () => cb(err),
      () => cb(err),
    );
  }

  /** Shuts the socket down (the worker's receive returns), waits for the worker briefly, then closes the socket. */
  private async shutdownAndClose(): Promise<void> {
    if (this.shut) return;
    this.shut = true;
    this.api.shutdown(this.handle, this.api.SHUT_RDWR);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), 2000);
    });
    const ended = await Promise.race([this.workerExit.then(() => true), late]);
    clearTimeout(timer);
    this.api.close(this.handle);
    if (!ended) {
      this.worker.unref();
      void this.worker.terminate();
    }
  }

  /** Whether the receive worker has ended (tests). */
  get workerDone(): Promise<void> {
    return this.workerExit;
  }
}
