import type { TLSSocket } from 'node:tls';
import { isPSRemotingError } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import { serverSpki, tlsServer, turns, type Wire } from '../testing-fixtures/tls-server.ts';
import {
  bindingHash,
  CLIENT_TO_SERVER_MAGIC,
  CredsspClient,
  type CredsspInner,
  CredsspRejected,
  CredsspVersionRefused,
  SERVER_TO_CLIENT_MAGIC,
} from './credssp-client.ts';
import { subjectPublicKey } from './tls-pipe.ts';
import {
  decodeTsCredentials,
  decodeTsRequest,
  derElementLength,
  encodeTsRequest,
  type TsRequest,
} from './ts-request.ts';

/**
 * CredsspClient against a hostile in-memory CredSSP server: real TLS (Node's, an EC certificate), TSRequests the
 * test writes by hand, and an inner mechanism whose seal is the identity (so the server can forge any binding).
 * What the real acceptor cannot do: errorCode at each step, a missing or wrong pubKeyAuth, the old and the new
 * binding forms. In every refusing path the password must never reach the server nor any error message.
 */
const PASSWORD = 'S3cret-Pa55word!';

/** Identity sealing, complete after the server's first token. */
function fakeInner(sealed: Uint8Array[] = []): CredsspInner {
  let steps = 0;
  return {
    mechanism: 'NTLM',
    initial: async () => new Uint8Array([1]),
    step: async () => {
      steps++;
      return steps === 1 ? new Uint8Array([3]) : undefined;
    },
    get canSeal() {
      return steps >= 1;
    },
    get established() {
      return steps >= 1;
    },
    seal: (d) => {
      sealed.push(d);
      return new Uint8Array(d);
    },
    unseal: (t) => new Uint8Array(t),
  };
}

class FakeServer {
  readonly wire: Wire;
  readonly tls: TLSSocket;
  readonly received: TsRequest[] = [];
  #plain: Buffer[] = [];
  readonly publicKey: Uint8Array;
  constructor() {
    ({ server: this.tls, wire: this.wire } = tlsServer());
    this.tls.on('data', (b: Buffer) => this.#plain.push(b));
    this.publicKey = subjectPublicKey(serverSpki());
  }
  /** Feeds the client's bytes; returns what the server wrote (handshake records). */
  async feed(bytes: Uint8Array): Promise<Uint8Array> {
    this.wire.push(Buffer.from(bytes));
    await turns();
    const all = Buffer.concat(this.#plain);
    const n = all.length > 0 ? derElementLength(all) : undefined;
    if (n !== undefined && all.length >= n) {
      this.received.push(decodeTsRequest(all.subarray(0, n)));
      this.#plain = [all.subarray(n)];
    }
    return this.wire.drain();
  }
  async send(msg: TsRequest): Promise<Uint8Array> {
    this.tls.write(Buffer.from(encodeTsRequest(msg)));
    await turns();
    return this.wire.drain();
  }
  destroy(): void {
    this.tls.destroy();
  }
}

/** Runs the client to the point where it sent its first TSRequest; returns both ends. */
async function negotiated(
  maxVersion = 6,
  sealed: Uint8Array[] = [],
  minVersion?: number,
): Promise<{ client: CredsspClient; server: FakeServer }> {
  const server = new FakeServer();
  const client = new CredsspClient({
    username: 'DOM\\alice',
    password: PASSWORD,
    maxVersion,
    ...(minVersion ? { minVersion } : {}),
    inner: async () => fakeInner(sealed),
  });
  let out = await client.step();
  for (let i = 0; i < 6; i++) {
    const back = await server.feed(out);
    if (server.received.length > 0) break;
    out = await client.step(back);
  }
  expect(server.received.length).toBe(1);
  return { client, server };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(Error);
  expect(String((e as Error).message)).not.toContain(PASSWORD);
  return e as Error;
}

const noCredentials = (server: FakeServer) =>
  expect(server.received.some((m) => m.authInfo !== undefined)).toBe(false);

describe('CredsspClient against a hostile server', () => {
  it('version 6: a correct binding gets the credentials, whose cleartext is zeroed once sealed', async () => {
    const sealed: Uint8Array[] = [];
    const { client, server } = await negotiated(6, sealed);
    try {
      await server.feed(
        await client.step(await server.send({ version: 6, negoTokens: [new Uint8Array([2])] })),
      );
      const sent = server.received[1]!;
      expect(sent.clientNonce?.length).toBe(32);
      expect(new Uint8Array(sent.pubKeyAuth!)).toEqual(
        bindingHash(CLIENT_TO_SERVER_MAGIC, sent.clientNonce!, server.publicKey),
      );
      const pubKeyAuth = bindingHash(SERVER_TO_CLIENT_MAGIC, sent.clientNonce!, server.publicKey);
      await server.feed(await client.step(await server.send({ version: 6, pubKeyAuth })));
      expect(client.delegated).toBe(true);
      expect(decodeTsCredentials(server.received[2]!.authInfo!)).toEqual({
        domain: 'DOM',
        userName: 'alice',
        password: PASSWORD,
      });
      // What was handed to seal (the cleartext TSCredentials) holds no password any more.
      expect(sealed.length).toBe(2);
      expect(sealed[1]!.length).toBeGreaterThan(PASSWORD.length * 2);
      expect(sealed[1]!.every((b) => b === 0)).toBe(true);
    } finally {
      client.dispose();
      server.destroy();
    }
  });

  it('version 2 (minVersion 2, the Vulnerable level): the key-plus-one binding is checked, a plain echo of our key is refused', async () => {
    const { client, server } = await negotiated(6, [], 2);
    try {
      await server.feed(
        await client.step(await server.send({ version: 2, negoTokens: [new Uint8Array([2])] })),
      );
      expect(server.received[1]!.clientNonce).toBeUndefined();
      expect(new Uint8Array(server.received[1]!.pubKeyAuth!)).toEqual(server.publicKey);
      // Echoing the client's own binding back (a reflection) is not the server's binding.
      const e = await failure(client.step(await server.send({ version: 2, pubKeyAuth: server.publicKey })));
      expect(isPSRemotingError(e) && e.errorId).toBe('WinRMMessageIntegrity');
      noCredentials(server);
    } finally {
      client.dispose();
      server.destroy();
    }
  });

  it('a wrong hash binding is refused and nothing more is sent', async () => {
    const { client, server } = await negotiated();
    try {
      await server.feed(
        await client.step(await server.send({ version: 6, negoTokens: [new Uint8Array([2])] })),
      );
      const wrong = bindingHash(SERVER_TO_CLIENT_MAGIC, new Uint8Array(32), server.publicKey);
      const e = await failure(client.step(await server.send({ version: 6, pubKeyAuth: wrong })));
      expect(isPSRemotingError(e) && e.errorId).toBe('WinRMMessageIntegrity');
      noCredentials(server);
      expect(client.delegated).toBe(false);
    } finally {
      client.dispose();
      server.destroy();
    }
  });

  it('a server that skips pubKeyAuth (or sends only another token) never gets the credentials', async () => {
    const { client, server } = await negotiated();
    try {
      await server.feed(
        await client.step(await server.send({ version: 6, negoTokens: [new Uint8Array([2])] })),
      );
      const e = await failure(
        client.step(await server.send({ version: 6, negoTokens: [new Uint8Array([4])] })),
      );
      expect(isPSRemotingError(e) && e.errorId).toBe('WinRMAuthTokenInvalid');
      noCredentials(server);
    } finally {
      client.dispose();
      server.destroy();
    }
  });

  it('an errorCode at either step is a refusal with the NTSTATUS, before any credential', async () => {
    for (const atBinding of [false, true]) {
      const { client, server } = await negotiated();
      try {
        if (atBinding)
          await server.feed(
            await client.step(await server.send({ version: 6, negoTokens: [new Uint8Array([2])] })),
          );
        const e = await failure(client.step(await server.send({ version: 6, errorCode: 0xc000006d })));
        expect(e).toBeInstanceOf(CredsspRejected);
        expect(e.message).toContain('STATUS_LOGON_FAILURE');
        noCredentials(server);
      } finally {
        client.dispose();
        server.destroy();
      }
    }
  });

  it('a TSRequest with a long-form length beyond the records, or not a SEQUENCE, is a token error', async () => {
    for (const bogus of [
      new Uint8Array([0x30, 0x83, 0xff, 0xff, 0xff, 0xa0]),
      new Uint8Array([0x30, 0x80, 0xa0, 0x03, 0x02, 0x01, 0x06, 0, 0]),
      new Uint8Array([0x04, 0x02, 0x01, 0x02]),
    ]) {
      const { client, server } = await negotiated();
      try {
        server.tls.write(Buffer.from(bogus));
        await turns();
        const e = await failure(client.step(server.wire.drain()));
        expect(isPSRemotingError(e)).toBe(true);
        expect(['WinRMAuthTokenInvalid', 'WinRMEncryptedBodyInvalid']).toContain(
          (e as unknown as { errorId: string }).errorId,
        );
        noCredentials(server);
      } finally {
        client.dispose();
        server.destroy();
      }
    }
  });

  it('refuses to offer a version below the lowest it accepts (it would blame every server for it)', () => {
    const make = (maxVersion: number, minVersion?: number) =>
      new CredsspClient({
        username: 'u',
        password: 'p',
        maxVersion,
        ...(minVersion ? { minVersion } : {}),
        inner: async () => fakeInner([]),
      });
    expect(() => make(4)).toThrow(/version 4 is below the lowest accepted \(5\)/);
    expect(() => make(3, 4)).toThrow(RangeError);
    make(3, 2).dispose();
  });

  it('by default (minVersion 5) refuses a server claiming version 2-4 before anything is sealed', async () => {
    for (const version of [2, 3, 4]) {
      const sealed: Uint8Array[] = [];
      const { client, server } = await negotiated(6, sealed);
      try {
        const e = await failure(
          client.step(await server.send({ version, negoTokens: [new Uint8Array([2])] })),
        );
        expect(e).toBeInstanceOf(CredsspVersionRefused);
        expect(e).toMatchObject({ serverVersion: version, lowest: 5 });
        expect(sealed).toHaveLength(0);
        expect(server.received).toHaveLength(1);
      } finally {
        client.dispose();
        server.destroy();
      }
    }
    const { client, server } = await negotiated(6, []);
    try {
      await server.feed(
        await client.step(await server.send({ version: 5, negoTokens: [new Uint8Array([2])] })),
      );
      expect(server.received[1]?.clientNonce?.length).toBe(32);
    } finally {
      client.dispose();
      server.destroy();
    }
  });
});
