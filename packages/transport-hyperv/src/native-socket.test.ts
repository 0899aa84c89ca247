import { pbkdf2, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AF_HYPERV, HV_GUID_PARENT, VM_SESSION_SERVICE_ID, VM_SESSION_SERVICE_ID_2 } from './constants.ts';
import { guidBytes, sockaddrHv } from './guid.ts';
import { NativeSocket, NativeSocketError } from './native-socket.ts';

// The koffi layer, proven on Linux with libc: the same worker, the same receive loop and the same Duplex that carry
// AF_HYPERV on Windows, here over AF_UNIX. What only Windows can show: ws2_32 itself and AF_HYPERV (README).

const require = createRequire(import.meta.url);
const koffi = require('koffi') as typeof import('koffi');

describe('SOCKADDR_HV and GUID byte order', () => {
  it('GUIDs in .NET ToByteArray order (Python uuid.bytes_le gives the same vectors)', () => {
    expect(guidBytes(VM_SESSION_SERVICE_ID).toString('hex')).toBe('d4539e995c3d3e4c8779bed06ec056e1');
    expect(guidBytes(VM_SESSION_SERVICE_ID_2).toString('hex')).toBe('211c20a57027114ca68ef182edb29220');
    expect(guidBytes('{00112233-4455-6677-8899-AABBCCDDEEFF}').toString('hex')).toBe(
      '33221100554477668899aabbccddeeff',
    );
    expect(() => guidBytes('not-a-guid')).toThrow();
  });

  it('the hvsocket.h struct laid out by koffi is 36 bytes, members at 0/2/4/20, and encodes to our bytes', () => {
    const SOCKADDR_HV = koffi.struct('SOCKADDR_HV_TEST', {
      Family: 'uint16_t',
      Reserved: 'uint16_t',
      VmId: koffi.array('uint8_t', 16),
      ServiceId: koffi.array('uint8_t', 16),
    });
    expect(koffi.sizeof(SOCKADDR_HV)).toBe(36);
    expect(['Family', 'Reserved', 'VmId', 'ServiceId'].map((m) => koffi.offsetof(SOCKADDR_HV, m))).toEqual([
      0, 2, 4, 20,
    ]);
    const buf = Buffer.alloc(36);
    koffi.encode(buf, SOCKADDR_HV, {
      Family: AF_HYPERV,
      Reserved: 0,
      VmId: [...guidBytes(HV_GUID_PARENT)],
      ServiceId: [...guidBytes(VM_SESSION_SERVICE_ID)],
    });
    const ours = sockaddrHv(HV_GUID_PARENT, VM_SESSION_SERVICE_ID);
    expect(ours.equals(buf)).toBe(true);
    expect(ours.subarray(0, 4).toString('hex')).toBe('22000000');
  });
});

const AF_UNIX = 1;
const SOCK_STREAM = 1;
/** struct sockaddr_un: family, then the NUL-terminated path (108 bytes). */
function sockaddrUn(path: string): Buffer {
  const b = Buffer.alloc(110);
  b.writeUInt16LE(AF_UNIX, 0);
  b.write(path, 2, 'utf8');
  return b;
}

describe.skipIf(process.platform !== 'linux')('the worker receive loop with libc sockets (AF_UNIX)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psremote-hvsock-'));
  const path = join(dir, 'echo.sock');
  // The peer runs in a thread of its own: the main thread's sends block, as they would with a VM at the other end.
  // A connection whose first byte is H holds its echo until it has 1 MiB (so the client's worker waits in recv the
  // whole time); E echoes at once; Q ends its side at once.
  let server: Worker;
  beforeAll(async () => {
    server = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
      const net = require('node:net');
      const srv = net.createServer((s) => {
        let mode; const got = []; let n = 0;
        s.on('data', (b) => {
          if (!mode) { mode = String.fromCharCode(b[0]); b = b.subarray(1); if (mode === 'Q') return s.end(); }
          if (mode === 'E') return s.write(b);
          got.push(b); n += b.length;
          if (n >= 1 << 20) s.write(Buffer.concat(got));
        });
        s.on('end', () => { parentPort.postMessage('end'); s.end(); });
        s.on('error', () => {});
      });
      srv.listen(workerData, () => parentPort.postMessage('ready'));`,
      { eval: true, workerData: path },
    );
    await new Promise<void>((r) => server.once('message', () => r()));
  });
  afterAll(async () => {
    await server.terminate();
    rmSync(dir, { recursive: true, force: true });
  });
  const peerEnds = () => new Promise<void>((r) => server.once('message', (m) => m === 'end' && r()));

  const open = () =>
    NativeSocket.connect({
      family: AF_UNIX,
      type: SOCK_STREAM,
      protocol: 0,
      address: sockaddrUn(path),
      connectTimeoutMs: 5000,
      sendTimeoutMs: 5000,
    });

  it('sends 1 MiB from the main thread while the worker sits in recv, and receives every byte back in order', async () => {
    const s = await open();
    const data = randomBytes(1 << 20);
    const got: Buffer[] = [];
    let n = 0;
    const all = new Promise<void>((resolve) =>
      s.on('data', (b: Buffer) => {
        got.push(b);
        n += b.length;
        if (n >= data.length) resolve();
      }),
    );
    // Nothing comes back until the peer has everything: the worker is blocked in recv the whole time.
    s.write('H');
    for (let off = 0; off < data.length; off += 32 * 1024) s.write(data.subarray(off, off + 32 * 1024));
    await all;
    expect(Buffer.concat(got).equals(data)).toBe(true);
    s.destroy();
    await s.workerDone;
  });

  it('shutdown ends the blocked receive: destroy returns, the worker exits, the peer sees the end', async () => {
    const s = await open();
    s.write('E');
    const echoed = new Promise<Buffer>((r) => s.once('data', r));
    s.write('ping');
    expect((await echoed).toString()).toBe('ping');
    const ended = peerEnds();
    const t0 = Date.now();
    s.destroy();
    await s.workerDone;
    await ended;
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it("the peer's end reaches the Duplex as 'end'", async () => {
    const s = await open();
    const ended = new Promise<void>((r) => s.once('end', () => r()));
    s.resume();
    s.write('Q');
    await ended;
    s.destroy();
    await s.workerDone;
  });

  it('blocked receives do not hold libuv threadpool threads (fs, crypto still run)', async () => {
    const sockets = await Promise.all([open(), open(), open(), open(), open()]);
    const t0 = Date.now();
    await Promise.all([
      ...Array.from({ length: 8 }, () => promisify(pbkdf2)('pw', 'salt', 1000, 32, 'sha256')),
      readFile(new URL(import.meta.url)),
    ]);
    expect(Date.now() - t0).toBeLessThan(3000);
    for (const s of sockets) s.destroy();
    await Promise.all(sockets.map((s) => s.workerDone));
  });

  it('a refused connect is a NativeSocketError naming the step and errno; nothing stays open', async () => {
    const err = await NativeSocket.connect({
      family: AF_UNIX,
      type: SOCK_STREAM,
      protocol: 0,
      address: sockaddrUn(join(dir, 'nobody.sock')),
      connectTimeoutMs: 5000,
      sendTimeoutMs: 1000,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(NativeSocketError);
    expect(err).toMatchObject({ step: 'connect', code: 2 });
  });

  it('a connect that hangs is cut off at the connect timeout', async () => {
    // A listening AF_UNIX socket that never accepts: once its backlog is full, connect blocks.
    const libc = koffi.load('libc.so.6');
    const socket = libc.func('int socket(int, int, int)');
    const bind = libc.func('int bind(int, const uint8_t *, uint32_t)');
    const listen = libc.func('int listen(int, int)');
    const close = libc.func('int close(int)');
    const stuck = join(dir, 'stuck.sock');
    const fd = socket(AF_UNIX, SOCK_STREAM, 0) as number;
    expect(bind(fd, sockaddrUn(stuck), 110)).toBe(0);
    expect(listen(fd, 0)).toBe(0);
    const opts = {
      family: AF_UNIX,
      type: SOCK_STREAM,
      protocol: 0,
      address: sockaddrUn(stuck),
      connectTimeoutMs: 400,
      sendTimeoutMs: 1000,
    };
    const filled: NativeSocket[] = [];
    let err: unknown;
    const t0 = Date.now();
    for (let i = 0; i < 4 && !err; i++) {
      try {
        filled.push(await NativeSocket.connect(opts));
      } catch (e) {
        err = e;
      }
    }
    expect(err).toMatchObject({
      step: 'connect',
      message: expect.stringContaining('no answer within 400 ms'),
    });
    expect(Date.now() - t0).toBeLessThan(4000);
    for (const s of filled) s.destroy();
    close(fd);
  });
});
