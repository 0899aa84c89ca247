import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveEndpoint } from './endpoint.ts';
import { EngineClient } from './engine-api.ts';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** An "engine" on 127.0.0.1 that answers every request with `size` bytes of JSON-ish text, in 1 MiB writes. */
async function engine(size: number): Promise<string> {
  const srv = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'api-version': '1.41' });
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let left = size;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!res.write(chunk.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('error', () => {});
    pump();
  });
  server = srv;
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return `tcp://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

describe('EngineClient against an engine that answers without end', () => {
  it('refuses a JSON answer past its bound (ContainerEngineProtocolError) instead of holding it', async () => {
    const api = new EngineClient(resolveEndpoint({ DOCKER_HOST: await engine(200 * 1024 * 1024) }));
    const before = process.memoryUsage().rss;
    await expect(api.json('GET', '/containers/json', AbortSignal.timeout(20_000))).rejects.toMatchObject({
      errorId: 'ContainerEngineProtocolError',
    });
    // 200 MiB offered; at most the 32 MiB bound (and its copy) was held.
    expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024);
  });

  it('reads an ordinary answer whole', async () => {
    const api = new EngineClient(resolveEndpoint({ DOCKER_HOST: await engine(1000) }));
    const r = await api.json('GET', '/containers/json', AbortSignal.timeout(20_000));
    expect(r.status).toBe(200);
    expect(r.text).toHaveLength(1000);
  });
});

/** A raw engine socket that answers the exec start with `answer`, written `step` bytes at a time. */
async function rawEngine(answer: Buffer, step: number): Promise<{ url: string; close: () => void }> {
  const { createServer: netServer } = await import('node:net');
  const srv = netServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', async () => {
      for (let i = 0; i < answer.length && !socket.destroyed; i += step) {
        socket.write(answer.subarray(i, i + step));
        if (i % (step * 64) === 0) await new Promise((r) => setImmediate(r));
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `tcp://127.0.0.1:${(srv.address() as AddressInfo).port}`, close: () => srv.close() };
}

describe('EngineClient.startExec reads the engine answer however it is cut', () => {
  it('101 written a byte at a time: the stream bytes after the headers are kept', async () => {
    const eng = await rawEngine(
      Buffer.from(
        'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nSTREAM',
      ),
      1,
    );
    try {
      const api = new EngineClient(resolveEndpoint({ DOCKER_HOST: eng.url }));
      const { socket, head } = await api.startExec('abc', AbortSignal.timeout(20_000));
      let got = head.toString();
      while (got.length < 6) got += String(await new Promise((r) => socket.once('data', r)));
      expect(got).toBe('STREAM');
      socket.destroy();
    } finally {
      eng.close();
    }
  });

  it("an error answer's body is waited for across chunks and its message given", async () => {
    const body = JSON.stringify({ message: `no such exec ${'é'.repeat(3000)}` });
    const eng = await rawEngine(
      Buffer.from(
        `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      ),
      7,
    );
    try {
      const api = new EngineClient(resolveEndpoint({ DOCKER_HOST: eng.url }));
      await expect(api.startExec('abc', AbortSignal.timeout(20_000))).rejects.toMatchObject({
        status: 404,
        message: `no such exec ${'é'.repeat(3000)}`,
      });
    } finally {
      eng.close();
    }
  });

  it('headers that never end are refused past 64 KiB, even a byte at a time (ContainerEngineProtocolError)', async () => {
    const eng = await rawEngine(Buffer.from(`HTTP/1.1 101 UPGRADED\r\nX: ${'a'.repeat(200 * 1024)}`), 1);
    try {
      const api = new EngineClient(resolveEndpoint({ DOCKER_HOST: eng.url }));
      await expect(api.startExec('abc', AbortSignal.timeout(30_000))).rejects.toMatchObject({
        errorId: 'ContainerEngineProtocolError',
      });
    } finally {
      eng.close();
    }
  });
});
