import { constants, X509Certificate } from 'node:crypto';
import { Duplex } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';
import { authError } from '../auth-error.ts';

/** How long one step waits for the TLS engine (it runs in this process: only a bug makes it wait). */
const STEP_TIMEOUT_MS = 10_000;
/** Event-loop turns without new plaintext after which the records fed in are taken as fully decrypted. */
const DRAIN_TURNS = 3;
/** Event-loop turns a handshake flight may take before a silent engine means the records were incomplete. */
const HANDSHAKE_QUIET_TURNS = 50;

/** The TLS records the engine writes, kept until `take()`; nothing is ever read from a network. */
class MemoryTransport extends Duplex {
  readonly out: Buffer[] = [];
  onOut: () => void = () => undefined;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.out.push(chunk);
    cb();
    this.onOut();
  }
  override _read(): void {
    // Input is pushed by `feed`.
  }
  takeOut(): Uint8Array {
    const b = Buffer.concat(this.out);
    this.out.length = 0;
    return new Uint8Array(b);
  }
}

/**
 * A TLS client whose records travel in memory (CredSSP carries them in HTTP headers and bodies): Node's own TLS
 * (OpenSSL) over a Duplex, TLS 1.2. The server's certificate is not verified here: CredSSP binds the inner
 * authentication to the server's public key instead (`pubKeyAuth`), which is why it may run over plain HTTP.
 */
export class TlsPipe {
  readonly #raw = new MemoryTransport();
  readonly #socket: TLSSocket;
  readonly #plain: Buffer[] = [];
  #plainLength = 0;
  #secure = false;
  #error: Error | undefined;
  #wake: () => void = () => undefined;
  /** One operation at a time: the records of each `wrap` are exactly its own, in the order they go out. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(servername?: string) {
    this.#socket = connect({
      socket: this.#raw,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      // Windows' CredSSP (schannel) negotiates TLS 1.2; its record sizes are what WinRM's encryption expects.
      maxVersion: 'TLSv1.2',
      ...(servername ? { servername } : {}),
      // A renegotiation could present another certificate after pubKeyAuth bound the first: OpenSSL answers the
      // server's HelloRequest with a no_renegotiation alert instead of a new ClientHello (Node's
      // disableRenegotiation() does not stop a client-side renegotiation; this option does).
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
    });
    this.#raw.onOut = () => this.#wake();
    this.#socket.on('secureConnect', () => {
      this.#secure = true;
      this.#wake();
    });
    this.#socket.on('data', (b: Buffer) => {
      this.#plain.push(b);
      this.#plainLength += b.length;
      this.#wake();
    });
    this.#socket.on('error', (e: Error) => {
      this.#error = e;
      this.#wake();
    });
  }

  get secure(): boolean {
    return this.#secure;
  }

  /** Resolves once `ready()` holds (checked after each engine event), or rejects on a TLS error / timeout. */
  async #until(ready: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    for (;;) {
      if (this.#error) throw authError('WinRMAuthRejected', `CredSSP: TLS failed: ${this.#error.message}`);
      if (ready()) return;
      const left = deadline - Date.now();
      if (left <= 0) throw authError('WinRMAuthState', `CredSSP: TLS did not ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = () => undefined;
          resolve();
        };
      });
    }
  }

  /** Lets the engine finish what a step started (it writes a flight in several calls). */
  async #settle(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
  }

  /** The first handshake flight (ClientHello). */
  async start(): Promise<Uint8Array> {
    await this.#until(() => this.#raw.out.length > 0, 'send its ClientHello');
    await this.#settle();
    return this.#raw.takeOut();
  }

  /** Feeds the server's handshake records; returns the next flight (empty once the handshake is complete). */
  async handshake(records: Uint8Array): Promise<Uint8Array> {
    this.#raw.push(Buffer.from(records));
    // The engine runs in this process: a whole flight gives an answer (or the end) within a few turns. A flight
    // that stays silent is truncated or incomplete; that is the server's error now, not a wait for the timeout.
    for (let turn = 0; !this.#error && !this.#secure && this.#raw.out.length === 0; turn++) {
      if (turn >= HANDSHAKE_QUIET_TURNS)
        throw authError(
          'WinRMAuthTokenInvalid',
          `CredSSP: the server's TLS handshake records (${records.length} bytes) are incomplete`,
        );
      await new Promise<void>((r) => setImmediate(r));
    }
    await this.#until(() => this.#secure || this.#raw.out.length > 0, 'continue the handshake');
    await this.#settle();
    return this.#raw.takeOut();
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op, op);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** TLS records carrying `data` (calls are queued: the records go out in the order the calls were made). */
  wrap(data: Uint8Array): Promise<Uint8Array> {
    return this.#serial(() => this.#wrap(data));
  }

  async #wrap(data: Uint8Array): Promise<Uint8Array> {
    if (!this.#secure) throw authError('WinRMAuthState', 'CredSSP: wrap before the TLS handshake completed');
    await new Promise<void>((resolve, reject) =>
      this.#socket.write(Buffer.from(data), (e) => (e ? reject(e) : resolve())),
    );
    await this.#until(() => this.#raw.out.length > 0, 'encrypt');
    await this.#settle();
    return this.#raw.takeOut();
  }

  /** Feeds records and returns exactly `length` bytes of plaintext (a CredSSP message or a WinRM part). */
  unwrap(
    records: Uint8Array,
    length: number | ((buffered: Buffer) => number | undefined),
  ): Promise<Uint8Array> {
    return this.#serial(() => this.#unwrap(records, length));
  }

  /**
   * Feeds whole records (all of one HTTP message) and waits until the engine has decrypted them: the plaintext
   * stops growing for a few event-loop turns (OpenSSL decrypts in this process, nothing is awaited from outside).
   * Then exactly the expected message must be there: `length` bytes, or one whole DER element; a record that is
   * short, long or does not decrypt is an error, not a wait.
   */
  async #unwrap(
    records: Uint8Array,
    length: number | ((buffered: Buffer) => number | undefined),
  ): Promise<Uint8Array> {
    if (records.length > 0) this.#raw.push(Buffer.from(records));
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    for (let quiet = 0, seen = -1; quiet < DRAIN_TURNS; ) {
      await new Promise<void>((r) => setImmediate(r));
      if (this.#error) throw this.#unwrapFailure(this.#error);
      quiet = this.#plainLength === seen ? quiet + 1 : 0;
      seen = this.#plainLength;
      if (Date.now() > deadline) break;
    }
    const all = Buffer.concat(this.#plain);
    const n = typeof length === 'number' ? length : length(all);
    if (n === undefined || all.length !== n)
      throw authError(
        'WinRMEncryptedBodyInvalid',
        `CredSSP: the server's records decrypted to ${all.length} bytes where ${n ?? 'a whole TSRequest'} belonged`,
      );
    this.#plain.length = 0;
    this.#plainLength = 0;
    return new Uint8Array(all);
  }

  /**
   * A TLS error while decrypting. After the handshake a record that does not decrypt is tampering or corruption
   * (WinRMMessageIntegrity, as a bad NTLM seal is), worded by OpenSSL's reason, not its source location.
   */
  #unwrapFailure(e: Error): Error {
    if (!this.#secure) return authError('WinRMAuthRejected', `CredSSP: TLS failed: ${e.message}`);
    const reason = (e as { reason?: unknown }).reason;
    const why =
      typeof reason === 'string' && reason ? reason : ((e as { code?: string }).code ?? 'TLS error');
    return authError(
      'WinRMMessageIntegrity',
      `CredSSP: a TLS record from the server did not decrypt (${why}): the message was altered or corrupted`,
      e,
    );
  }

  /** The server certificate's SubjectPublicKey: the BIT STRING's content of its SubjectPublicKeyInfo. */
  serverPublicKey(): Uint8Array {
    const raw = this.#socket.getPeerCertificate(true)?.raw;
    if (!raw) throw authError('WinRMAuthState', 'CredSSP: no server certificate');
    const spki = new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' });
    return subjectPublicKey(new Uint8Array(spki));
  }

  /** The negotiated cipher, e.g. `ECDHE-RSA-AES256-GCM-SHA384`. */
  cipherName(): string {
    return this.#socket.getCipher()?.name ?? '';
  }

  destroy(): void {
    this.#socket.destroy();
    this.#raw.destroy();
  }
}

/** SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }: the key bits, unused-bits byte off. */
export function subjectPublicKey(spki: Uint8Array): Uint8Array {
  const fail = (): never => {
    throw authError('WinRMAuthTokenInvalid', 'CredSSP: the server certificate has no usable public key');
  };
  const len = (o: number): [number, number] => {
    const b = spki[o]!;
    if (!(b & 0x80)) return [b, o + 1];
    const n = b & 0x7f;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + spki[o + 1 + i]!;
    return [v, o + 1 + n];
  };
  if (spki[0] !== 0x30) fail();
  const [, seqStart] = len(1);
  if (spki[seqStart] !== 0x30) fail();
  const [algLen, algStart] = len(seqStart + 1);
  const bitAt = algStart + algLen;
  if (spki[bitAt] !== 0x03) fail();
  const [bitLen, bitStart] = len(bitAt + 1);
  if (bitLen < 1 || spki[bitStart] !== 0 || bitStart + bitLen > spki.length) fail();
  return spki.subarray(bitStart + 1, bitStart + bitLen);
}

/**
 * What WinRM puts in the Length-Field before a CredSSP-encrypted part: the TLS stream trailer
 * (SecPkgContext_StreamSizes.cbTrailer on Windows). AEAD suites: the 16-byte tag; CBC: the MAC and the padding.
 */
export function tlsTrailerLength(messageLength: number, cipher: string): number {
  const c = cipher.toUpperCase();
  if (/GCM|CHACHA20|CCM/.test(c)) return 16;
  const mac = c.endsWith('SHA384') ? 48 : c.endsWith('SHA256') ? 32 : c.endsWith('MD5') ? 16 : 20;
  const block = /DES/.test(c) ? 8 : 16;
  const prePad = messageLength + mac;
  return prePad + (block - (prePad % block)) - messageLength;
}
