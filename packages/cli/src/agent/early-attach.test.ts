import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Interface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { EarlyAttach } from '../fast-path.ts';
import { TerminalHostUi } from '../terminal/host-ui.ts';
import type { Terminal } from '../terminal/line-terminal.ts';
import { startRawUi } from '../terminal/raw-ui-start.ts';
import { type Message, readFrames, writeFrame } from './frames.ts';
import { enterEarly } from './verbs.ts';

// enterEarly against a scripted agent on a Unix socket: what the CLI does with the connection bin.js opened.

const out = { isTTY: true, columns: 100, rows: 40, write: () => true } as unknown as NodeJS.WriteStream;
const terminal = {
  interactive: true,
  hostUi: new TerminalHostUi(
    { stdin: {} as NodeJS.ReadStream, stdout: out, stderr: out },
    { colors: false, readline: () => ({}) as Interface },
  ),
} as unknown as Terminal;

let dir = '';
let server: Server | undefined;
afterEach(() => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** An agent that answers as runAgent does: hello, the attach result and (asked for, with `features`) the prompt. */
async function scriptedAgent(features: string[] | undefined, received: Message[]): Promise<string> {
  dir = mkdtempSync(join(tmpdir(), 'psremote-early-'));
  const path = join(dir, 'agent.sock');
  server = createServer((socket) => {
    readFrames(
      socket,
      1 << 20,
      (m) => {
        received.push(m);
        if (m.t === 'hello') writeFrame(socket, { t: 'hello', pid: 1, ...(features ? { features } : {}) });
        if (m.t === 'attach') {
          writeFrame(socket, { t: 'result', info: { name: 'web', computerName: 'web1' } });
          if (m.prompt === true && features) writeFrame(socket, { t: 'prompt', text: 'PS /early> ' });
        }
        if (m.t === 'leave') writeFrame(socket, { t: 'result' });
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((r) => server?.listen(path, r));
  return path;
}

/** What bin.js does (fast-path.ts connectEarly): greet and attach with the prompt asked for. */
async function earlyConnection(path: string, sent: EarlyAttach): Promise<Socket> {
  const socket = createConnection(path);
  await new Promise((r) => socket.once('connect', r));
  writeFrame(socket, { t: 'hello', token: 'x' });
  writeFrame(socket, { t: 'attach', ...sent, mode: 'enter', pid: 1, prompt: true });
  return socket;
}

const sent: EarlyAttach = { selector: { name: 'web' }, interactive: true, raw: startRawUi(100, 40) };

// Unix sockets (bin.js opens no early connection on Windows).
describe.skipIf(process.platform === 'win32')('enterEarly (the connection bin.js opened)', () => {
  it("takes the attach result and the pushed prompt when they are this command's", async () => {
    const received: Message[] = [];
    const socket = await earlyConnection(await scriptedAgent(['attachPrompt'], received), sent);
    const early = await enterEarly(sent, { socket, received: [] }, { name: 'web' }, terminal);
    expect(early?.attached?.t).toBe('result');
    expect((await early?.prompt?.answer)?.text).toBe('PS /early> ');
    expect(early?.prompt?.raw).toBe(JSON.stringify(startRawUi(100, 40)));
    expect(received.map((m) => m.t)).toEqual(['hello', 'attach']);
    early?.client.close();
  });

  it('an older agent pushes no prompt: the attach is taken, the prompt is asked for as before', async () => {
    const received: Message[] = [];
    const socket = await earlyConnection(await scriptedAgent(undefined, received), sent);
    const early = await enterEarly(sent, { socket, received: [] }, { name: 'web' }, terminal);
    expect(early?.attached?.t).toBe('result');
    expect(early?.prompt).toBeUndefined();
    early?.client.close();
  });

  it('another session than the binder found, or another RawUI: the attach is undone (leave) and nothing is taken', async () => {
    for (const [selector, raw] of [
      [{ name: 'other' }, sent.raw],
      [{ name: 'web' }, startRawUi(80, 24)],
    ] as const) {
      const received: Message[] = [];
      const path = await scriptedAgent(['attachPrompt'], received);
      const other: EarlyAttach = { ...sent, raw };
      const socket = await earlyConnection(path, other);
      const early = await enterEarly(other, { socket, received: [] }, selector, terminal);
      expect(early?.client).toBeDefined();
      expect(early?.attached).toBeUndefined();
      expect(early?.prompt).toBeUndefined();
      expect(received.map((m) => m.t)).toEqual(['hello', 'attach', 'leave']);
      early?.client.close();
      server?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
