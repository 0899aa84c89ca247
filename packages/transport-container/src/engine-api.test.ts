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
