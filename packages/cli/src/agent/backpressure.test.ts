import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingHostUi } from '@psremote/core';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentClient } from './client.ts';
import { writeFrame } from './frames.ts';

// AgentClient against an agent that writes as fast as its socket takes: what the client holds is bounded.

let dir = '';
let server: Server | undefined;
afterEach(() => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An agent socket that writes `count` frames made by `frame` while its socket takes them; counts the frames written. */
async function floodingAgent(
  count: number,
  frame: (i: number) => Record<string, unknown>,
): Promise<{ client: Socket; written: () => number }> {
  dir = mkdtempSync(join(tmpdir(), 'psremote-bp-'));
  const path = join(dir, 'agent.sock');
  let written = 0;
  server = createServer((socket) => {
    socket.on('error', () => {});
    const pump = (): void => {
      while (written < count) {
        const ok = writeFrame(socket, { ...frame(written) } as never) as unknown;
        written++;
        if (ok === false || socket.writableNeedDrain) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  await new Promise<void>((r) => server?.listen(path, r));
  const client = createConnection(path);
  await new Promise((r) => client.once('connect', r));
  return { client, written: () => written };
}

const payload = 'x'.repeat(1000);

describe('AgentClient reads the agent only as fast as it is taken', () => {
  it('messages nobody takes stop the reading; taking them resumes it, in order, nothing lost', async () => {
    const total = 20_000; // 20 MB of frames
    const agent = await floodingAgent(total, (i) => ({ t: 'event', i, payload }));
    const client = AgentClient.adopt(agent.client, [], new RecordingHostUi());
    await sleep(300);
    // The agent could write only what the socket buffers and the client's bounded queue hold.
    const held = agent.written();
    expect(held).toBeLessThan(total / 4);
    await sleep(200);
    expect(agent.written()).toBe(held);
    for (let i = 0; i < total; i++) {
      const m = await client.next();
      expect(m.i).toBe(i);
    }
    expect(agent.written()).toBe(total);
    client.close();
  });

  it('host writes to a terminal that is full stop the reading until it drains', async () => {
    const total = 20_000;
    const agent = await floodingAgent(total, (i) => ({
      t: 'ui',
      method: 'writeLine',
      args: [`line ${i} ${payload}`],
    }));
    let release: (() => void) | undefined;
    let full = true;
    class FullTerminal extends RecordingHostUi {
      drained(): Promise<void> | undefined {
        if (!full) return undefined;
        return new Promise((r) => {
          release = r;
        });
      }
    }
    const ui = new FullTerminal();
    const client = AgentClient.adopt(agent.client, [], ui);
    const writes = () => ui.records.filter((r) => r.kind === 'write').length;
    await sleep(300);
    expect(writes()).toBeGreaterThan(0);
    expect(agent.written()).toBeLessThan(total / 4);
    const held = writes();
    await sleep(200);
    expect(writes()).toBe(held);
    full = false;
    release?.();
    for (let i = 0; i < 500 && writes() < total; i++) await sleep(10);
    expect(writes()).toBe(total);
    expect(ui.text).toContain(`line ${total - 1} `);
    client.close();
  });
});
