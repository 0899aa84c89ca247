import type { PsrpPayload } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import { endpointFromConnectionUri } from './url/wsman-endpoint.ts';
import { WinrmConnection } from './winrm-connection.ts';
import { WsmanClient } from './wsman/client.ts';

/**
 * The Receive loop's read-ahead against a client that answers at once: while the kernel does not pull, no Receive
 * is asked for once `receiveHighWaterMark` payloads wait; each payload the kernel takes lets exactly one more go.
 */
describe('WinrmConnection read-ahead', () => {
  it('stops issuing Receives at the high-water mark and issues one per payload taken', async () => {
    const endpoint = endpointFromConnectionUri({ connectionUri: 'http://127.0.0.1:1/wsman' });
    let receives = 0;
    const client = new WsmanClient({
      endpoint,
      auth: { prepare: async (req) => ({ headers: {}, body: req.body }) },
    });
    Object.assign(client, {
      create: async () => ({ shellId: 'A1B2C3D4-0000-0000-0000-000000000001' }),
      receive: async () => {
        // A macrotask per answer, as a real round trip: an unbounded loop then shows as a count, not a hang.
        await new Promise<void>((r) => setImmediate(r));
        receives++;
        return { streams: [{ name: 'stdout', data: new Uint8Array([receives]) }], timedOut: false };
      },
      delete: async () => undefined,
      close: async () => undefined,
    });
    const conn = new WinrmConnection({ endpoint, createClient: () => client, receiveHighWaterMark: 3 });
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
    };
    await conn.open({ runspacePoolId: 'a1b2c3d4-0000-0000-0000-000000000001', data: new Uint8Array(0) });
    await settle();
    expect(receives).toBe(3);
    const it = conn.receive()[Symbol.asyncIterator]();
    const first = (await it.next()).value as PsrpPayload;
    expect(Array.from(first.data)).toEqual([1]);
    await settle();
    expect(receives).toBe(4);
    await settle();
    expect(receives).toBe(4);
    await conn.close();
  });
});
