import { isPSRemotingError } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import { connectedTlsPipe, serverSpki, tlsServer, turns } from '../testing-fixtures/tls-server.ts';
import { subjectPublicKey, TlsPipe } from './tls-pipe.ts';

/**
 * TlsPipe against a hostile in-memory TLS server (Node's own, over a Duplex): the EC certificate's key is what
 * the binding uses, and a server that tries to renegotiate after the handshake (a way to present another
 * certificate once pubKeyAuth has bound the first) gets a PowerShell-style error, not a new handshake.
 */
describe('TlsPipe against an in-memory server', () => {
  it("takes the EC certificate's public key (the uncompressed point) for the binding", async () => {
    const { pipe, server } = await connectedTlsPipe();
    try {
      const point = pipe.serverPublicKey();
      const spki = serverSpki();
      expect(point.length).toBe(65);
      expect(point[0]).toBe(0x04);
      expect(Buffer.from(point).equals(Buffer.from(spki).subarray(spki.length - 65))).toBe(true);
      expect(subjectPublicKey(new Uint8Array(spki))).toEqual(point);
      expect(pipe.cipherName()).toMatch(/ECDHE-ECDSA/);
    } finally {
      pipe.destroy();
      server.destroy();
    }
  });

  it('carries data both ways after the handshake', async () => {
    const { pipe, server, wire } = await connectedTlsPipe();
    try {
      const got: Buffer[] = [];
      server.on('data', (b: Buffer) => got.push(b));
      wire.push(Buffer.from(await pipe.wrap(new TextEncoder().encode('ping'))));
      await turns();
      expect(Buffer.concat(got).toString()).toBe('ping');
      server.write('pong');
      await turns();
      expect(Buffer.from(await pipe.unwrap(wire.drain(), 4)).toString()).toBe('pong');
    } finally {
      pipe.destroy();
      server.destroy();
    }
  });

  it('answers a renegotiation the server starts with an alert, never a new ClientHello', async () => {
    const { pipe, server, wire } = await connectedTlsPipe();
    try {
      const before = pipe.serverPublicKey();
      server.renegotiate({ rejectUnauthorized: false }, () => undefined);
      await turns();
      const helloRequest = wire.drain();
      expect(helloRequest.length).toBeGreaterThan(0);
      expect(await pipe.unwrap(helloRequest, 0)).toHaveLength(0);
      const out = await pipe.wrap(new TextEncoder().encode('after'));
      const types: number[] = [];
      for (let o = 0; o + 5 <= out.length; o += 5 + ((out[o + 3]! << 8) | out[o + 4]!)) types.push(out[o]!);
      // 21: alert (no_renegotiation), 23: application data; 22 (a handshake record) would be a new ClientHello.
      expect(types).toContain(21);
      expect(types).toContain(23);
      expect(types).not.toContain(22);
      expect(pipe.serverPublicKey()).toEqual(before);
    } finally {
      pipe.destroy();
      server.destroy();
    }
  });

  it('a truncated server flight fails at once as a token error, not after the step timeout', async () => {
    const { server, wire } = tlsServer();
    const pipe = new TlsPipe();
    try {
      wire.push(Buffer.from(await pipe.start()));
      await turns();
      const flight = wire.drain();
      expect(flight.length).toBeGreaterThan(100);
      const started = Date.now();
      const err = await pipe.handshake(flight.subarray(0, flight.length - 20)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Date.now() - started).toBeLessThan(2000);
      expect(isPSRemotingError(err) && err.errorId).toBe('WinRMAuthTokenInvalid');
      expect(pipe.secure).toBe(false);
    } finally {
      pipe.destroy();
      server.destroy();
    }
  });
});
