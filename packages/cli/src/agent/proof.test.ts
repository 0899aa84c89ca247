import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentClient } from './client.ts';
import { type Message, readFrames, writeFrame } from './frames.ts';
import { proofOf, sameSecret } from './proof.ts';

const TOKEN = 'f'.repeat(64);

/** A process listening where the agent should (a squatter, or a fake agent): records every frame it gets. */
async function listener(
  answer: (m: Message) => Message | undefined,
): Promise<{ dir: string; got: Message[]; server: Server }> {
  const dir = mkdtempSync(join(tmpdir(), 'psremote-proof-'));
  writeFileSync(join(dir, 'agent.token'), TOKEN, { mode: 0o600 });
  const got: Message[] = [];
  const server = createServer((socket) => {
    readFrames(
      socket,
      1 << 20,
      (m) => {
        got.push(m);
        const reply = answer(m);
        if (reply) writeFrame(socket, reply);
      },
      () => socket.destroy(),
    );
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(join(dir, 'agent.sock'), r));
  return { dir, got, server };
}

describe.skipIf(process.platform === 'win32')('the greeting proves the token both ways', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  it('a squatter that cannot prove the token gets no token, and nothing after the greeting', async () => {
    const l = await listener((m) =>
      m.t === 'hello' ? { t: 'hello', pid: 1, features: ['attachPrompt'] } : undefined,
    );
    cleanup = () => {
      l.server.close();
      rmSync(l.dir, { recursive: true, force: true });
    };
    await expect(AgentClient.connect({ PSREMOTE_AGENT_DIR: l.dir }, { start: false })).rejects.toMatchObject({
      errorId: 'AgentAccessDenied',
      message: expect.stringContaining('is not this user'),
    });
    await new Promise((r) => setTimeout(r, 50));
    // One greeting, no retry; it carries a nonce and a proof, never the token.
    expect(l.got).toHaveLength(1);
    const hello = l.got[0] as Message;
    expect(hello.t).toBe('hello');
    expect(hello.token).toBeUndefined();
    expect(JSON.stringify(hello)).not.toContain(TOKEN);
    expect(sameSecret(hello.proof, proofOf(TOKEN, 'client', String(hello.nonce)))).toBe(true);
  });

  it('a squatter that reflects the client proof as its own is refused too', async () => {
    const l = await listener((m) => (m.t === 'hello' ? { t: 'hello', pid: 1, proof: m.proof } : undefined));
    cleanup = () => {
      l.server.close();
      rmSync(l.dir, { recursive: true, force: true });
    };
    await expect(AgentClient.connect({ PSREMOTE_AGENT_DIR: l.dir }, { start: false })).rejects.toMatchObject({
      errorId: 'AgentAccessDenied',
    });
  });

  it('an agent that proves the token is greeted, and the next request goes to it', async () => {
    const l = await listener((m) => {
      if (m.t === 'hello') return { t: 'hello', pid: 1, proof: proofOf(TOKEN, 'agent', String(m.nonce)) };
      if (m.t === 'get') return { t: 'sessions', sessions: [] };
      return undefined;
    });
    cleanup = () => {
      l.server.close();
      rmSync(l.dir, { recursive: true, force: true });
    };
    const client = await AgentClient.connect({ PSREMOTE_AGENT_DIR: l.dir }, { start: false });
    expect(client).toBeDefined();
    expect((await client?.request({ t: 'get' }))?.sessions).toEqual([]);
    client?.close();
    expect(l.got.map((m) => m.t)).toEqual(['hello', 'get']);
  });

  it('proofs differ per role and nonce, and compare in constant time only when the lengths match', () => {
    expect(proofOf(TOKEN, 'client', 'n')).not.toBe(proofOf(TOKEN, 'agent', 'n'));
    expect(proofOf(TOKEN, 'client', 'n')).not.toBe(proofOf(TOKEN, 'client', 'm'));
    expect(sameSecret(undefined, 'ab')).toBe(false);
    expect(sameSecret('a', 'ab')).toBe(false);
    expect(sameSecret('ab', 'ab')).toBe(true);
  });
});
