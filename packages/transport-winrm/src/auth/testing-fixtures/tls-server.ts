import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { TlsPipe } from '../credssp/tls-pipe.ts';

/**
 * Test-only: Node's own TLS server in memory, over a Duplex the test drives by hand, with the EC key and
 * self-signed certificate under test/fixtures/client-certs. The peer that TlsPipe and CredsspClient tests
 * (and the CredSSP decryptor's fuzz) talk to, where a real acceptor could not be made hostile.
 */
const fixtures = fileURLToPath(new URL('../../../test/fixtures/client-certs/', import.meta.url));
export const serverKey = readFileSync(`${fixtures}nobody.key`);
export const serverCert = readFileSync(`${fixtures}nobody.pem`);

/** The server certificate's SubjectPublicKeyInfo, DER. */
export function serverSpki(): Uint8Array {
  return new Uint8Array(new X509Certificate(serverCert).publicKey.export({ type: 'spki', format: 'der' }));
}

/** The server's transport: what the test pushes is what the server reads; what it writes collects in `out`. */
export class Wire extends Duplex {
  readonly out: Buffer[] = [];
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.out.push(chunk);
    cb();
  }
  override _read(): void {}
  /** Takes everything the server wrote since the last drain. */
  drain(): Uint8Array {
    const b = Buffer.concat(this.out);
    this.out.length = 0;
    return new Uint8Array(b);
  }
}

/** Lets Node's TLS socket run: a few macrotask turns. */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A fresh server side: its wire and its TLS socket (errors are the test's to observe, never unhandled). */
export function tlsServer(): { server: TLSSocket; wire: Wire } {
  const wire = new Wire();
  const server = new TLSSocket(wire, { isServer: true, key: serverKey, cert: serverCert });
  server.on('error', () => undefined);
  return { server, wire };
}

/** A TlsPipe handshaken with a fresh in-memory server; throws when the handshake does not complete. */
export async function connectedTlsPipe(): Promise<{ pipe: TlsPipe; server: TLSSocket; wire: Wire }> {
  const { server, wire } = tlsServer();
  const pipe = new TlsPipe();
  let toServer = await pipe.start();
  for (let legs = 0; !pipe.secure && legs < 4; legs++) {
    wire.push(Buffer.from(toServer));
    await turns();
    toServer = await pipe.handshake(wire.drain());
  }
  if (toServer.length > 0) wire.push(Buffer.from(toServer));
  await turns();
  if (!pipe.secure) throw new Error('the in-memory TLS handshake did not complete in 4 legs');
  return { pipe, server, wire };
}
