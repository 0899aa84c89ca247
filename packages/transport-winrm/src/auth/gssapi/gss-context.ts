import type { WrappedMessage } from '../ntlm-context.ts';
import { GssError, type GssStatus } from './gss-errors.ts';
import { GSS, type GssFfi, gssError, type KoffiFunction, type OidName } from './gss-ffi.ts';

/** The mechanism a context speaks on the wire: bare Kerberos (RFC 4121 tokens) or SPNEGO (RFC 4178). */
export type GssMech = 'krb5' | 'spnego';

/** Every handle this module makes is released here if its owner is collected without dispose(). */
const released = new FinalizationRegistry<() => void>((release) => {
  try {
    release();
  } catch {
    // best effort: the process may be exiting
  }
});

/** gss_display_status of a major (GSS_C_GSS_CODE) and minor (GSS_C_MECH_CODE) status, every message joined. */
export function displayStatus(ffi: GssFfi, major: number, minor: number, mech?: OidName): string {
  const parts: string[] = [];
  const collect = (code: number, type: number) => {
    const ctx = [0];
    for (let i = 0; i < 8; i++) {
      const m = [0];
      const out: Record<string, unknown> = {};
      const rc = ffi.f.display_status(m, code, type, mech ? ffi.oid(mech) : null, ctx, out);
      if (gssError(rc)) break;
      const text = takeBuffer(ffi, out);
      const message = Buffer.from(text).toString('utf8').replace(/\0+$/, '').trim();
      if (message.length > 0) parts.push(message);
      if (ctx[0] === 0) break;
    }
  };
  if (gssError(major)) collect(major, GSS.C_GSS_CODE);
  if (minor !== 0) collect(minor, GSS.C_MECH_CODE);
  return parts.join(': ') || `GSS major 0x${(major >>> 0).toString(16)}, minor ${minor}`;
}

/** Copies a gss_buffer_desc the library allocated and releases it. */
function takeBuffer(ffi: GssFfi, desc: Record<string, unknown>): Uint8Array {
  const length = Number(desc.length ?? 0);
  const value = desc.value as bigint | null | undefined;
  let out = new Uint8Array(0);
  if (length > 0 && value) out = new Uint8Array(ffi.koffi.view(value, length)).slice();
  if (value) ffi.f.release_buffer([0], desc);
  return out;
}

function status(ffi: GssFfi, call: string, major: number, minor: number, mech?: OidName): GssStatus {
  return { call, major: major >>> 0, minor: minor | 0, text: displayStatus(ffi, major, minor, mech) };
}

/**
 * Runs a (possibly KDC-bound) GSSAPI call on koffi's worker thread, so the event loop never waits on a KDC, and
 * gives up after `timeoutMs`. The C call cannot be cancelled: when it ends late, `late` cleans up what it made.
 */
export function callAsync(
  fn: KoffiFunction,
  args: unknown[],
  timeoutMs: number,
  late: () => void,
): Promise<number | 'timeout'> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      resolve('timeout');
    }, timeoutMs);
    fn.async(...args, (err: unknown, rc: number) => {
      if (done) {
        late();
        return;
      }
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(rc);
    });
  });
}

/** No KDC answer in time: the caller words it (kdcTimeout). */
export class GssTimeout extends Error {
  readonly ms: number;
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'GssTimeout';
    this.ms = ms;
  }
}

/**
 * A user name as Kerberos wants it: `DOMAIN\user` becomes `user@DOMAIN`, and the realm of `user@domain` is
 * upper-cased (Active Directory realms are the upper-cased DNS domain; MIT compares realms case-sensitively). A bare
 * `user` takes the default realm of krb5.conf.
 */
export function kerberosPrincipal(userName: string): string {
  const slash = userName.indexOf('\\');
  if (slash >= 0) return `${userName.slice(slash + 1)}@${userName.slice(0, slash).toUpperCase()}`;
  const at = userName.lastIndexOf('@');
  if (at > 0) return `${userName.slice(0, at)}@${userName.slice(at + 1).toUpperCase()}`;
  return userName;
}

/** Imports a name (gss_import_name); the caller releases it with releaseName. */
function importName(ffi: GssFfi, text: string, type: OidName): bigint {
  const bytes = Buffer.from(text, 'utf8');
  const minor = [0];
  const out: unknown[] = [null];
  const major = ffi.f.import_name(minor, { length: bytes.length, value: bytes }, ffi.oid(type), out);
  if (gssError(major)) throw new GssError(status(ffi, 'gss_import_name', major, minor[0] as number));
  return out[0] as bigint;
}

function releaseName(ffi: GssFfi, name: bigint | null): void {
  if (name) ffi.f.release_name([0], [name]);
}

/**
 * A credential: the current user's tickets (ccache/KCM, `gss_acquire_cred` with no name), or a password
 * credential (`gss_acquire_cred_with_password`: the library gets a TGT into a MEMORY ccache of its own, never the
 * user's). Held by handle only; dispose() (or collection) releases it.
 */
export class GssCredential {
  readonly #ffi: GssFfi;
  #handle: bigint | null;
  readonly principal: string | undefined;
  readonly #token: object = {};

  private constructor(ffi: GssFfi, handle: bigint, principal: string | undefined) {
    this.#ffi = ffi;
    this.#handle = handle;
    this.principal = principal;
    released.register(this, () => ffi.f.release_cred([0], [handle]), this.#token);
  }

  get handle(): bigint {
    if (this.#handle === null) throw new Error('the GSSAPI credential was released');
    return this.#handle;
  }

  /**
   * Acquires for `mech`; with `password`, by an AS exchange (bounded by `timeoutMs`). For SPNEGO the negotiable
   * mechanisms are narrowed to Kerberos (gss_set_neg_mechs): NTLM is psremote's own (negotiateAuth), not gss-ntlmssp.
   */
  static async acquire(
    ffi: GssFfi,
    opts: { mech: GssMech; userName?: string; password?: string; timeoutMs: number },
  ): Promise<GssCredential> {
    const principal = opts.userName !== undefined ? kerberosPrincipal(opts.userName) : undefined;
    const name = principal !== undefined ? importName(ffi, principal, 'userName') : null;
    const minor = [0];
    const out: unknown[] = [null];
    let major: number | 'timeout';
    let pw: Buffer | undefined;
    const cleanup = () => {
      // The abandoned call ended: release what it made, and only now wipe the password it was reading.
      if (out[0]) ffi.f.release_cred([0], [out[0]]);
      releaseName(ffi, name);
      pw?.fill(0);
    };
    try {
      if (opts.password !== undefined) {
        const fn = ffi.f.acquire_cred_with_password;
        if (!fn)
          throw new GssError({
            call: 'gss_acquire_cred_with_password',
            major: 0x00100000,
            minor: 0,
            text: `the GSSAPI library ${ffi.library} cannot acquire a credential from a password; run kinit and omit -Credential`,
          });
        pw = Buffer.from(opts.password, 'utf8');
        // The password buffer lives until the call ends (`pw` stays referenced by this frame and `cleanup`).
        major = await callAsync(
          fn,
          [
            minor,
            name,
            { length: pw.length, value: pw },
            GSS.C_INDEFINITE,
            ffi.oidSet(opts.mech),
            GSS.C_INITIATE,
            out,
            null,
            null,
          ],
          opts.timeoutMs,
          cleanup,
        );
        if (major !== 'timeout') pw.fill(0);
      } else {
        major = await callAsync(
          ffi.f.acquire_cred,
          [minor, name, GSS.C_INDEFINITE, ffi.oidSet(opts.mech), GSS.C_INITIATE, out, null, null],
          opts.timeoutMs,
          cleanup,
        );
      }
    } catch (e) {
      releaseName(ffi, name);
      throw e;
    }
    if (major === 'timeout') throw new GssTimeout(opts.timeoutMs);
    releaseName(ffi, name);
    const call = opts.password !== undefined ? 'gss_acquire_cred_with_password' : 'gss_acquire_cred';
    if (gssError(major)) throw new GssError(status(ffi, call, major, minor[0] as number, 'krb5'));
    const cred = new GssCredential(ffi, out[0] as bigint, principal);
    if (opts.mech === 'spnego' && ffi.f.set_neg_mechs) {
      const m = [0];
      const rc = ffi.f.set_neg_mechs(m, cred.handle, ffi.oidSet('krb5'));
      if (gssError(rc)) {
        cred.dispose();
        throw new GssError(status(ffi, 'gss_set_neg_mechs', rc, m[0] as number));
      }
    }
    return cred;
  }

  dispose(): void {
    if (this.#handle === null) return;
    const h = this.#handle;
    this.#handle = null;
    released.unregister(this.#token);
    this.#ffi.f.release_cred([0], [h]);
  }
}

export interface GssInitiatorOptions {
  readonly mech: GssMech;
  readonly credential: GssCredential;
  /** The target as a GSS name: `HTTP@host` (host-based) or `HTTP/host:port` (a Kerberos principal name). */
  readonly target: { readonly name: string; readonly type: 'hostbasedService' | 'krb5PrincipalName' };
  /** RFC 5929 application data (`tls-server-end-point:` + hash) for the channel bindings; absent over HTTP. */
  readonly channelBindings?: Uint8Array;
  /** Bound on each step that may talk to the KDC (the first: a service ticket). */
  readonly timeoutMs: number;
}

/** What MS-WSMV message encryption needs, and mutual authentication (RFC 2743 1.2.2 flags). */
const REQUIRED_FLAGS =
  GSS.C_MUTUAL_FLAG | GSS.C_REPLAY_FLAG | GSS.C_SEQUENCE_FLAG | GSS.C_CONF_FLAG | GSS.C_INTEG_FLAG;

/**
 * One initiator security context (gss_init_sec_context) and its per-message protection with the IOV calls:
 * wrap gives MS-WSMV's header (the RFC 4121 token header, RRC-rotated trailer included) and the encrypted data
 * followed by any padding; unwrap takes the same pair. Every native handle is released by dispose() or collection.
 */
export class GssInitiator {
  readonly #ffi: GssFfi;
  readonly #opts: GssInitiatorOptions;
  #ctx: bigint | null = null;
  #target: bigint | null;
  #complete = false;
  #flags = 0;
  #busy = false;
  #disposed = false;
  readonly #token: object = {};
  readonly #cell: { ctx: bigint | null; target: bigint | null } = { ctx: null, target: null };

  constructor(ffi: GssFfi, opts: GssInitiatorOptions) {
    this.#ffi = ffi;
    this.#opts = opts;
    this.#target = importName(ffi, opts.target.name, opts.target.type);
    this.#cell.target = this.#target;
    const cell = this.#cell;
    released.register(
      this,
      () => {
        if (cell.ctx) ffi.f.delete_sec_context([0], [cell.ctx], null);
        releaseName(ffi, cell.target);
      },
      this.#token,
    );
  }

  get complete(): boolean {
    return this.#complete;
  }

  /** The flags the library granted (ret_flags). */
  get flags(): number {
    return this.#flags;
  }

  /**
   * One gss_init_sec_context step: `input` is the server's token (absent on the first call). Returns the token to
   * send (possibly empty). On completion checks that mutual authentication, confidentiality and integrity were
   * granted: without them the server is not proven, or messages cannot be sealed.
   */
  async step(input?: Uint8Array): Promise<Uint8Array> {
    if (this.#disposed) throw new Error('the GSSAPI context was released');
    if (this.#busy) throw new Error('a GSSAPI context step is already running');
    const ffi = this.#ffi;
    const minor = [0];
    const ctxCell: unknown[] = [this.#ctx];
    const actualMech: unknown[] = [null];
    const output: Record<string, unknown> = {};
    const retFlags = [0];
    const timeRec = [0];
    const bindings = this.#opts.channelBindings
      ? {
          initiator_addrtype: 0,
          initiator_address: { length: 0, value: null },
          acceptor_addrtype: 0,
          acceptor_address: { length: 0, value: null },
          application_data: {
            length: this.#opts.channelBindings.length,
            value: Buffer.from(this.#opts.channelBindings),
          },
        }
      : null;
    const inBuf = input && input.length > 0 ? Buffer.from(input) : null;
    const target = this.#target;
    if (target === null) throw new Error('the GSSAPI context is unusable (an earlier step timed out)');
    this.#busy = true;
    let major: number | 'timeout';
    try {
      major = await callAsync(
        ffi.f.init_sec_context,
        [
          minor,
          this.#opts.credential.handle,
          ctxCell,
          target,
          ffi.oid(this.#opts.mech),
          REQUIRED_FLAGS,
          0,
          bindings,
          inBuf ? { length: inBuf.length, value: inBuf } : null,
          actualMech,
          output,
          retFlags,
          timeRec,
        ],
        this.#opts.timeoutMs,
        () => {
          // The abandoned call ended: it owned the context and read the target name until now.
          if (ctxCell[0]) ffi.f.delete_sec_context([0], [ctxCell[0]], null);
          if (output.value) ffi.f.release_buffer([0], output);
          releaseName(ffi, target);
        },
      );
    } finally {
      this.#busy = false;
    }
    if (major === 'timeout') {
      // The abandoned call owns the context and the target name now (it may still use them): forget both.
      this.#ctx = null;
      this.#target = null;
      this.#cell.ctx = null;
      this.#cell.target = null;
      throw new GssTimeout(this.#opts.timeoutMs);
    }
    this.#ctx = (ctxCell[0] as bigint | null) ?? null;
    this.#cell.ctx = this.#ctx;
    const token = takeBuffer(ffi, output);
    if (this.#disposed) {
      // dispose() ran while this step was on the worker thread: what it left is released here.
      this.#release();
      throw new Error('the GSSAPI context was released');
    }
    if (gssError(major))
      throw new GssError(
        status(
          ffi,
          'gss_init_sec_context',
          major,
          minor[0] as number,
          this.#opts.mech === 'krb5' ? 'krb5' : undefined,
        ),
      );
    this.#flags = retFlags[0] as number;
    // RFC 2744 3.9.1: GSS_S_CONTINUE_NEEDED is the first supplementary bit.
    if ((major & GSS.S_CONTINUE_NEEDED) !== 0) return token;
    const missing = ['MUTUAL', 'CONF', 'INTEG'].filter(
      (_, i) => (this.#flags & [GSS.C_MUTUAL_FLAG, GSS.C_CONF_FLAG, GSS.C_INTEG_FLAG][i]!) === 0,
    );
    if (missing.length > 0)
      throw new GssError({
        call: 'gss_init_sec_context',
        major: 0x000d0000,
        minor: 0,
        text: `the security context lacks ${missing.join(', ')} (mutual authentication and message encryption are required)`,
      });
    this.#complete = true;
    return token;
  }

  #live(): bigint {
    if (!this.#complete || this.#ctx === null) throw new Error('the GSSAPI context is not established');
    return this.#ctx;
  }

  /**
   * gss_wrap_iov with HEADER | DATA | PADDING and confidentiality (MS-WSMV 2.2.9.1.1.2.2: the header's length goes
   * in the Length-Field, the data (and padding, which counts in OriginalContent's Length) follows).
   */
  wrap(data: Uint8Array): WrappedMessage {
    const ffi = this.#ffi;
    const ctx = this.#live();
    const { koffi } = ffi;
    const iov = ffi.types.iov;
    const iovs = koffi.alloc(iov, 3);
    const dataLen = Math.max(data.length, 1);
    const dataPtr = koffi.alloc('uint8_t', dataLen);
    let headerPtr: bigint | null = null;
    let padPtr: bigint | null = null;
    try {
      new Uint8Array(koffi.view(dataPtr, dataLen)).set(data);
      const layout = (h: number, hp: bigint | null, p: number, pp: bigint | null) => {
        koffi.encode(iovs, iov, { type: GSS.IOV_BUFFER_TYPE_HEADER, buffer: { length: h, value: hp } });
        koffi.encode(iovs + BigInt(koffi.sizeof(iov)), iov, {
          type: GSS.IOV_BUFFER_TYPE_DATA,
          buffer: { length: data.length, value: dataPtr },
        });
        koffi.encode(iovs + BigInt(2 * koffi.sizeof(iov)), iov, {
          type: GSS.IOV_BUFFER_TYPE_PADDING,
          buffer: { length: p, value: pp },
        });
      };
      layout(0, null, 0, null);
      const minor = [0];
      const conf = [0];
      let major = ffi.f.wrap_iov_length(minor, ctx, 1, 0, conf, iovs, 3);
      if (gssError(major)) throw new GssError(status(ffi, 'gss_wrap_iov_length', major, minor[0] as number));
      const headerLen = Number(readIov(ffi, iovs, 0).length);
      const padLen = Number(readIov(ffi, iovs, 2).length);
      headerPtr = koffi.alloc('uint8_t', Math.max(headerLen, 1));
      padPtr = koffi.alloc('uint8_t', Math.max(padLen, 1));
      layout(headerLen, headerPtr, padLen, padPtr);
      major = ffi.f.wrap_iov(minor, ctx, 1, 0, conf, iovs, 3);
      if (gssError(major)) throw new GssError(status(ffi, 'gss_wrap_iov', major, minor[0] as number));
      if (conf[0] === 0)
        throw new GssError({
          call: 'gss_wrap_iov',
          major: 0,
          minor: 0,
          text: 'the message was not encrypted',
        });
      const h = readIov(ffi, iovs, 0);
      const p = readIov(ffi, iovs, 2);
      const header = copyOut(ffi, headerPtr, Number(h.length));
      const sealed = new Uint8Array(data.length + Number(p.length));
      sealed.set(copyOut(ffi, dataPtr, data.length), 0);
      sealed.set(copyOut(ffi, padPtr, Number(p.length)), data.length);
      return { header, data: sealed };
    } finally {
      koffi.free(iovs);
      koffi.free(dataPtr);
      if (headerPtr !== null) koffi.free(headerPtr);
      if (padPtr !== null) koffi.free(padPtr);
    }
  }

  /** gss_wrap with confidentiality: one RFC 4121 token (CredSSP seals pubKeyAuth and authInfo this way). */
  wrapToken(data: Uint8Array): Uint8Array {
    const ffi = this.#ffi;
    const fn = ffi.f.wrap;
    if (!fn) throw new Error(`the GSSAPI library ${ffi.library} has no gss_wrap`);
    const minor = [0];
    const conf = [0];
    const output: Record<string, unknown> = {};
    const input = Buffer.from(data.length > 0 ? data : new Uint8Array(0));
    const major = fn(minor, this.#live(), 1, 0, { length: data.length, value: input }, conf, output);
    const token = takeBuffer(ffi, output);
    if (gssError(major)) throw new GssError(status(ffi, 'gss_wrap', major, minor[0] as number));
    if (conf[0] === 0)
      throw new GssError({ call: 'gss_wrap', major: 0, minor: 0, text: 'the message was not encrypted' });
    return token;
  }

  /** gss_unwrap of one token; it must have been encrypted. */
  unwrapToken(token: Uint8Array): Uint8Array {
    const ffi = this.#ffi;
    const fn = ffi.f.unwrap;
    if (!fn) throw new Error(`the GSSAPI library ${ffi.library} has no gss_unwrap`);
    const minor = [0];
    const conf = [0];
    const qop = [0];
    const output: Record<string, unknown> = {};
    const input = Buffer.from(token);
    const major = fn(minor, this.#live(), { length: token.length, value: input }, output, conf, qop);
    const data = takeBuffer(ffi, output);
    if (gssError(major)) throw new GssError(status(ffi, 'gss_unwrap', major, minor[0] as number));
    if (conf[0] === 0)
      throw new GssError({
        call: 'gss_unwrap',
        major: 0,
        minor: 0,
        text: 'the message was signed but not encrypted',
      });
    return data;
  }

  /** gss_unwrap_iov of HEADER | DATA (decrypted in place; RRC rotation and any padding handled by the library). */
  unwrap(header: Uint8Array, data: Uint8Array): Uint8Array {
    const ffi = this.#ffi;
    const ctx = this.#live();
    const { koffi } = ffi;
    const iov = ffi.types.iov;
    const iovs = koffi.alloc(iov, 2);
    const headerPtr = koffi.alloc('uint8_t', Math.max(header.length, 1));
    const dataPtr = koffi.alloc('uint8_t', Math.max(data.length, 1));
    try {
      new Uint8Array(koffi.view(headerPtr, Math.max(header.length, 1))).set(header);
      new Uint8Array(koffi.view(dataPtr, Math.max(data.length, 1))).set(data);
      koffi.encode(iovs, iov, {
        type: GSS.IOV_BUFFER_TYPE_HEADER,
        buffer: { length: header.length, value: headerPtr },
      });
      koffi.encode(iovs + BigInt(koffi.sizeof(iov)), iov, {
        type: GSS.IOV_BUFFER_TYPE_DATA,
        buffer: { length: data.length, value: dataPtr },
      });
      const minor = [0];
      const conf = [0];
      const qop = [0];
      const major = ffi.f.unwrap_iov(minor, ctx, conf, qop, iovs, 2);
      if (gssError(major)) throw new GssError(status(ffi, 'gss_unwrap_iov', major, minor[0] as number));
      if (conf[0] === 0)
        throw new GssError({
          call: 'gss_unwrap_iov',
          major: 0,
          minor: 0,
          text: 'the message was signed but not encrypted',
        });
      const d = readIov(ffi, iovs, 1);
      return copyOut(ffi, dataPtr, Number(d.length));
    } finally {
      koffi.free(iovs);
      koffi.free(headerPtr);
      koffi.free(dataPtr);
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    released.unregister(this.#token);
    // A step on the worker thread still uses the handles: it releases them when it returns.
    if (!this.#busy) this.#release();
  }

  #release(): void {
    if (this.#ctx) this.#ffi.f.delete_sec_context([0], [this.#ctx], null);
    releaseName(this.#ffi, this.#target);
    this.#ctx = null;
    this.#target = null;
    this.#cell.ctx = null;
    this.#cell.target = null;
  }
}

function readIov(ffi: GssFfi, iovs: bigint, index: number): { length: number | bigint } {
  const entry = ffi.koffi.decode(iovs + BigInt(index * ffi.koffi.sizeof(ffi.types.iov)), ffi.types.iov);
  return entry.buffer as { length: number | bigint };
}

function copyOut(ffi: GssFfi, ptr: bigint, length: number): Uint8Array {
  if (length === 0) return new Uint8Array(0);
  return new Uint8Array(ffi.koffi.view(ptr, length)).slice();
}
