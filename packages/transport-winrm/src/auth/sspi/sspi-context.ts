import { callAsync, GssTimeout } from '../gssapi/gss-context.ts';
import type { WrappedMessage } from '../ntlm-context.ts';
import type { SecurityContext, SecurityCredential } from '../security-context.ts';
import { SspiError } from './sspi-errors.ts';
import { SSPI, type SspiFfi, secFailed, secStatus } from './sspi-ffi.ts';

/** The SSPI package: `Kerberos` (-Authentication Kerberos) or `Negotiate` (SPNEGO; SSPI falls back to NTLM itself). */
export type SspiPackage = 'Kerberos' | 'Negotiate';

/** Every handle this module makes is released here if its owner is collected without dispose(). */
const released = new FinalizationRegistry<() => void>((release) => {
  try {
    release();
  } catch {
    // best effort: the process may be exiting
  }
});

/** The parts of SEC_WINNT_AUTH_IDENTITY_W for a -Credential user name, split as Windows splits it. */
export interface SspiIdentityParts {
  readonly user: string;
  /** Empty: none (a UPN `user@REALM`, or a bare `user`: the package finds the domain). */
  readonly domain: string;
}

/**
 * `DOMAIN\user` gives User `user` and Domain `DOMAIN`; anything else (`user@corp.example`, `user`) goes whole in
 * User with no Domain: Windows' Kerberos and Negotiate packages take a UPN in the user field themselves (what
 * CredUIParseUserName leaves for a UPN, and what pypsrp/pyspnego pass).
 */
export function sspiIdentityParts(userName: string): SspiIdentityParts {
  const slash = userName.indexOf('\\');
  if (slash >= 0) return { user: userName.slice(slash + 1), domain: userName.slice(0, slash) };
  return { user: userName, domain: '' };
}

/** Native UTF-16LE with a terminating NUL (SSPI reads lengths in characters, without the NUL). */
function allocWide(ffi: SspiFfi, text: string): { ptr: bigint; chars: number; bytes: number } {
  const buf = Buffer.from(`${text}\0`, 'utf16le');
  const ptr = ffi.koffi.alloc('uint8_t', buf.length);
  new Uint8Array(ffi.koffi.view(ptr, buf.length)).set(buf);
  buf.fill(0);
  return { ptr, chars: text.length, bytes: buf.length };
}

/** A NUL-terminated UTF-16 string SSPI owns (a package name: short; read at most `max` characters). */
function readWide(ffi: SspiFfi, ptr: bigint, max = 256): string {
  let text = '';
  for (let i = 0; i < max; i++) {
    const c = new Uint16Array(ffi.koffi.view(ptr + BigInt(i * 2), 2))[0] ?? 0;
    if (c === 0) break;
    text += String.fromCharCode(c);
  }
  return text;
}

function wipeFree(ffi: SspiFfi, p: { ptr: bigint; bytes: number } | undefined): void {
  if (!p) return;
  new Uint8Array(ffi.koffi.view(p.ptr, p.bytes)).fill(0);
  ffi.koffi.free(p.ptr);
}

/**
 * A SEC_WINNT_AUTH_IDENTITY_W in native memory (UNICODE flag, lengths in characters). `free()` zeroes the password
 * and releases everything; AcquireCredentialsHandleW copies what it needs, so it is freed right after that call.
 */
export function buildAuthIdentity(
  ffi: SspiFfi,
  userName: string,
  password: string,
): { ptr: bigint; free(): void } {
  const { user, domain } = sspiIdentityParts(userName);
  const u = allocWide(ffi, user);
  const d = domain.length > 0 ? allocWide(ffi, domain) : undefined;
  const p = allocWide(ffi, password);
  const type = ffi.types.authIdentity;
  const ptr = ffi.koffi.alloc(type, 1);
  ffi.koffi.encode(ptr, type, {
    User: u.ptr,
    UserLength: u.chars,
    Domain: d ? d.ptr : null,
    DomainLength: d ? d.chars : 0,
    Password: p.ptr,
    PasswordLength: p.chars,
    Flags: SSPI.SEC_WINNT_AUTH_IDENTITY_UNICODE,
  });
  return {
    ptr,
    free() {
      wipeFree(ffi, p);
      wipeFree(ffi, u);
      wipeFree(ffi, d);
      ffi.koffi.free(ptr);
    },
  };
}

function allocHandle(ffi: SspiFfi): bigint {
  const p = ffi.koffi.alloc(ffi.types.secHandle, 1);
  ffi.koffi.encode(p, ffi.types.secHandle, { dwLower: 0n, dwUpper: 0n });
  return p;
}

/**
 * An outbound SSPI credential (AcquireCredentialsHandleW): the logon session's (no -Credential: pAuthData NULL) or
 * a SEC_WINNT_AUTH_IDENTITY_W from -Credential. SSPI checks a password only when a context asks the KDC (or the
 * server, for NTLM), so a wrong one shows at the first step. dispose() (or collection) calls FreeCredentialsHandle.
 */
export class SspiCredential implements SecurityCredential {
  readonly #ffi: SspiFfi;
  #handle: bigint | null;
  readonly package: SspiPackage;
  readonly #token: object = {};

  private constructor(ffi: SspiFfi, handle: bigint, pkg: SspiPackage) {
    this.#ffi = ffi;
    this.#handle = handle;
    this.package = pkg;
    released.register(
      this,
      () => {
        ffi.f.FreeCredentialsHandle(handle);
        ffi.koffi.free(handle);
      },
      this.#token,
    );
  }

  /** The CredHandle's address. */
  get handle(): bigint {
    if (this.#handle === null) throw new Error('the SSPI credential was released');
    return this.#handle;
  }

  static async acquire(
    ffi: SspiFfi,
    opts: { package: SspiPackage; userName?: string; password?: string; timeoutMs: number },
  ): Promise<SspiCredential> {
    const identity =
      opts.userName !== undefined && opts.password !== undefined
        ? buildAuthIdentity(ffi, opts.userName, opts.password)
        : undefined;
    const handle = allocHandle(ffi);
    const expiry = ffi.koffi.alloc('int64_t', 1);
    const cleanup = () => {
      identity?.free();
      ffi.koffi.free(expiry);
    };
    let rc: number | 'timeout';
    try {
      rc = await callAsync(
        ffi.f.AcquireCredentialsHandleW,
        [
          null,
          opts.package,
          SSPI.SECPKG_CRED_OUTBOUND,
          null,
          identity ? identity.ptr : null,
          null,
          null,
          handle,
          expiry,
        ],
        opts.timeoutMs,
        () => {
          // The abandoned call ended: release what it made.
          ffi.f.FreeCredentialsHandle(handle);
          ffi.koffi.free(handle);
          cleanup();
        },
      );
    } catch (e) {
      cleanup();
      ffi.koffi.free(handle);
      throw e;
    }
    if (rc === 'timeout') throw new GssTimeout(opts.timeoutMs);
    cleanup();
    if (secFailed(rc)) {
      ffi.koffi.free(handle);
      throw new SspiError('AcquireCredentialsHandleW', rc);
    }
    return new SspiCredential(ffi, handle, opts.package);
  }

  dispose(): void {
    if (this.#handle === null) return;
    const h = this.#handle;
    this.#handle = null;
    released.unregister(this.#token);
    this.#ffi.f.FreeCredentialsHandle(h);
    this.#ffi.koffi.free(h);
  }
}

export interface SspiInitiatorOptions {
  readonly credential: SspiCredential;
  /** The SPN: `HTTP/srv01.corp.example` (KerberosTarget.spn). */
  readonly targetName: string;
  /** RFC 5929 application data (`tls-server-end-point:` + hash); absent over HTTP. */
  readonly channelBindings?: Uint8Array;
  /** Bound on each step that may talk to the KDC. */
  readonly timeoutMs: number;
  /**
   * How DecryptMessage gets a message: `token` (the default: SECBUFFER_TOKEN = the header, SECBUFFER_DATA = the
   * rest, as MS-WSMV's Length-Field splits them; what PSWSMan's SSPI path does for WinRM bodies) or `stream`
   * (header ‖ data in one SECBUFFER_STREAM and an empty SECBUFFER_DATA that SSPI points at the plaintext: the
   * generic form of sspilib and PSWSMan, when the split is not known).
   */
  readonly decrypt?: 'stream' | 'token';
}

/**
 * What WinRM asks for (and pyspnego's default ContextReq): mutual authentication, replay and sequence detection,
 * confidentiality and integrity; SSPI allocates the output token (freed with FreeContextBuffer).
 */
export const ISC_REQUEST =
  SSPI.ISC_REQ_MUTUAL_AUTH |
  SSPI.ISC_REQ_REPLAY_DETECT |
  SSPI.ISC_REQ_SEQUENCE_DETECT |
  SSPI.ISC_REQ_CONFIDENTIALITY |
  SSPI.ISC_REQ_INTEGRITY |
  SSPI.ISC_REQ_ALLOCATE_MEMORY;

/** SecPkgContext_Sizes. */
export interface SspiSizes {
  readonly maxToken: number;
  readonly maxSignature: number;
  readonly blockSize: number;
  readonly securityTrailer: number;
}

/** A SEC_CHANNEL_BINDINGS with only application data (what WinRM's client binds over HTTPS), in native memory. */
export function buildChannelBindings(
  ffi: SspiFfi,
  applicationData: Uint8Array,
): { ptr: bigint; length: number } {
  const type = ffi.types.channelBindings;
  const head = ffi.koffi.sizeof(type);
  const length = head + applicationData.length;
  const ptr = ffi.koffi.alloc('uint8_t', length);
  ffi.koffi.encode(ptr, type, {
    dwInitiatorAddrType: 0,
    cbInitiatorLength: 0,
    dwInitiatorOffset: 0,
    dwAcceptorAddrType: 0,
    cbAcceptorLength: 0,
    dwAcceptorOffset: 0,
    cbApplicationDataLength: applicationData.length,
    dwApplicationDataOffset: head,
  });
  new Uint8Array(ffi.koffi.view(ptr, length)).set(applicationData, head);
  return { ptr, length };
}

/** A SecBufferDesc over `buffers` (each with its own native memory, or none). Free with `free()`. */
class BufferList {
  readonly desc: bigint;
  readonly array: bigint;
  readonly #ffi: SspiFfi;
  readonly #owned: bigint[] = [];

  constructor(ffi: SspiFfi, buffers: { type: number; data?: Uint8Array; size?: number }[]) {
    this.#ffi = ffi;
    const { koffi, types } = ffi;
    const n = buffers.length;
    this.array = koffi.alloc(types.secBuffer, Math.max(n, 1));
    buffers.forEach((b, i) => {
      const size = b.data ? b.data.length : (b.size ?? 0);
      let pv: bigint | null = null;
      if (size > 0) {
        pv = koffi.alloc('uint8_t', size);
        this.#owned.push(pv);
        const view = new Uint8Array(koffi.view(pv, size));
        if (b.data) view.set(b.data);
        else view.fill(0);
      }
      koffi.encode(this.#at(i), types.secBuffer, { cbBuffer: size, BufferType: b.type, pvBuffer: pv });
    });
    this.desc = koffi.alloc(types.secBufferDesc, 1);
    koffi.encode(this.desc, types.secBufferDesc, {
      ulVersion: SSPI.SECBUFFER_VERSION,
      cBuffers: n,
      pBuffers: this.array,
    });
  }

  #at(i: number): bigint {
    return this.array + BigInt(i * this.#ffi.koffi.sizeof(this.#ffi.types.secBuffer));
  }

  /** The buffer as SSPI left it: its type, length and where it points (possibly into another buffer). */
  read(i: number): { type: number; length: number; ptr: bigint | null } {
    const b = this.#ffi.koffi.decode(this.#at(i), this.#ffi.types.secBuffer);
    return {
      type: Number(b.BufferType),
      length: Number(b.cbBuffer),
      ptr: (b.pvBuffer as bigint | null) || null,
    };
  }

  bytes(i: number): Uint8Array {
    const b = this.read(i);
    if (b.length === 0 || b.ptr === null) return new Uint8Array(0);
    return new Uint8Array(this.#ffi.koffi.view(b.ptr, b.length)).slice();
  }

  free(): void {
    for (const p of this.#owned) this.#ffi.koffi.free(p);
    this.#ffi.koffi.free(this.array);
    this.#ffi.koffi.free(this.desc);
  }
}

/**
 * One client security context through SSPI (InitializeSecurityContextW) and its per-message protection:
 * EncryptMessage with TOKEN | DATA | PADDING gives MS-WSMV's header (the token: for Kerberos the RFC 4121 wrap
 * token header and its rotated trailer, for NTLM the 16-byte signature) and the sealed data followed by any
 * padding, the same pair GssInitiator's gss_wrap_iov produces; DecryptMessage takes it back.
 */
export class SspiInitiator implements SecurityContext {
  readonly #ffi: SspiFfi;
  readonly #opts: SspiInitiatorOptions;
  /** The CtxtHandle's memory; holds a live context once the first step returned. */
  #ctx: bigint | null;
  #started = false;
  #complete = false;
  #attributes = 0;
  #sizes: SspiSizes | undefined;
  #negotiated: string | undefined;
  #busy = false;
  #disposed = false;
  readonly #token: object = {};
  readonly #cell: { ctx: bigint | null; started: boolean } = { ctx: null, started: false };

  constructor(ffi: SspiFfi, opts: SspiInitiatorOptions) {
    this.#ffi = ffi;
    this.#opts = opts;
    this.#ctx = allocHandle(ffi);
    this.#cell.ctx = this.#ctx;
    const cell = this.#cell;
    released.register(
      this,
      () => {
        if (cell.ctx) {
          if (cell.started) ffi.f.DeleteSecurityContext(cell.ctx);
          ffi.koffi.free(cell.ctx);
        }
      },
      this.#token,
    );
  }

  get complete(): boolean {
    return this.#complete;
  }

  /** The ISC_RET_* attributes SSPI granted. */
  get attributes(): number {
    return this.#attributes;
  }

  /**
   * The package the `Negotiate` package settled on (`Kerberos`, `NTLM`), once established; asked only when the
   * answer matters (a Negotiate context without ISC_RET_MUTUAL_AUTH), else undefined.
   */
  get negotiatedPackage(): string | undefined {
    return this.#negotiated;
  }

  /** SecPkgContext_Sizes of the established context. */
  get sizes(): SspiSizes {
    if (!this.#sizes) throw new Error('the SSPI context is not established');
    return this.#sizes;
  }

  /**
   * One InitializeSecurityContextW call: `input` is the server's token (absent on the first call). Returns the
   * token to send (possibly empty). SEC_I_CONTINUE_NEEDED: more legs; SEC_E_OK: done (possibly with a last token
   * to send). On completion checks that mutual authentication, confidentiality and integrity were granted.
   */
  async step(input?: Uint8Array): Promise<Uint8Array> {
    if (this.#disposed) throw new Error('the SSPI context was released');
    if (this.#busy) throw new Error('an SSPI context step is already running');
    const ctx = this.#ctx;
    if (ctx === null) throw new Error('the SSPI context is unusable (an earlier step timed out)');
    const ffi = this.#ffi;
    const inputs: { type: number; data?: Uint8Array }[] = [];
    if (input && input.length > 0) inputs.push({ type: SSPI.SECBUFFER_TOKEN, data: input });
    let bindings: { ptr: bigint; length: number } | undefined;
    if (this.#opts.channelBindings) {
      // SECBUFFER_CHANNEL_BINDINGS holds a whole SEC_CHANNEL_BINDINGS (header and data), on every call.
      bindings = buildChannelBindings(ffi, this.#opts.channelBindings);
      const whole = new Uint8Array(ffi.koffi.view(bindings.ptr, bindings.length)).slice();
      inputs.push({ type: SSPI.SECBUFFER_CHANNEL_BINDINGS, data: whole });
      ffi.koffi.free(bindings.ptr);
    }
    const inList = inputs.length > 0 ? new BufferList(ffi, inputs) : undefined;
    const outList = new BufferList(ffi, [{ type: SSPI.SECBUFFER_TOKEN }]);
    const attrs = ffi.koffi.alloc('uint32_t', 1);
    const expiry = ffi.koffi.alloc('int64_t', 1);
    const started = this.#started;
    const free = () => {
      inList?.free();
      const out = outList.read(0);
      if (out.ptr !== null) ffi.f.FreeContextBuffer(out.ptr);
      outList.free();
      ffi.koffi.free(attrs);
      ffi.koffi.free(expiry);
    };
    this.#busy = true;
    let rc: number | 'timeout';
    try {
      rc = await callAsync(
        ffi.f.InitializeSecurityContextW,
        [
          this.#opts.credential.handle,
          started ? ctx : null,
          this.#opts.targetName,
          ISC_REQUEST,
          0,
          SSPI.SECURITY_NATIVE_DREP,
          inList ? inList.desc : null,
          0,
          ctx,
          outList.desc,
          attrs,
          expiry,
        ],
        this.#opts.timeoutMs,
        () => {
          // The abandoned call ended: it owned the context handle until now.
          ffi.f.DeleteSecurityContext(ctx);
          ffi.koffi.free(ctx);
          free();
        },
      );
    } catch (e) {
      this.#busy = false;
      free();
      throw e;
    }
    this.#busy = false;
    if (rc !== 'timeout') rc = secStatus(rc);
    if (rc === 'timeout') {
      // The abandoned call owns the handle memory now: forget it.
      this.#ctx = null;
      this.#cell.ctx = null;
      throw new GssTimeout(this.#opts.timeoutMs);
    }
    let token: Uint8Array;
    let attributes: number;
    try {
      token = outList.bytes(0);
      attributes = new Uint32Array(ffi.koffi.view(attrs, 4))[0] ?? 0;
      if (!secFailed(rc)) {
        this.#started = true;
        this.#cell.started = true;
      }
      if (rc === SSPI.SEC_I_COMPLETE_NEEDED || rc === SSPI.SEC_I_COMPLETE_AND_CONTINUE) {
        const c = secStatus(ffi.f.CompleteAuthToken(ctx, outList.desc));
        if (secFailed(c)) throw new SspiError('CompleteAuthToken', c);
      }
    } finally {
      free();
    }
    if (this.#disposed) {
      this.#release();
      throw new Error('the SSPI context was released');
    }
    if (secFailed(rc)) throw new SspiError('InitializeSecurityContextW', rc);
    this.#attributes = attributes;
    if (rc === SSPI.SEC_I_CONTINUE_NEEDED || rc === SSPI.SEC_I_COMPLETE_AND_CONTINUE) return token;
    if (rc !== SSPI.SEC_E_OK && rc !== SSPI.SEC_I_COMPLETE_NEEDED)
      throw new SspiError(
        'InitializeSecurityContextW',
        rc,
        `an unexpected status 0x${(rc >>> 0).toString(16).padStart(8, '0')}`,
      );
    let missing: string[] = (
      [
        ['MUTUAL_AUTH', SSPI.ISC_RET_MUTUAL_AUTH],
        ['CONFIDENTIALITY', SSPI.ISC_RET_CONFIDENTIALITY],
        ['INTEGRITY', SSPI.ISC_RET_INTEGRITY],
      ] as const
    )
      .filter(([, bit]) => (attributes & bit) === 0)
      .map(([name]) => name);
    if (missing.includes('MUTUAL_AUTH') && this.#opts.credential.package === 'Negotiate') {
      // NTLM cannot prove the server (MS-NLMP has no server proof), so Windows' Negotiate package never grants
      // ISC_RET_MUTUAL_AUTH when it fell back to NTLM; WinRM's own client and .NET accept that. Kerberos must still
      // grant it. https://learn.microsoft.com/windows/win32/api/sspi/ns-sspi-secpkgcontext_negotiationinfow
      this.#negotiated = this.#queryNegotiatedPackage(ctx);
      if (this.#negotiated?.toUpperCase() === 'NTLM') missing = missing.filter((m) => m !== 'MUTUAL_AUTH');
    }
    if (missing.length > 0)
      throw new SspiError(
        'InitializeSecurityContextW',
        0x80090363,
        `the security context lacks ${missing.join(', ')} (mutual authentication and message encryption are required)`,
      );
    this.#sizes = this.#querySizes(ctx);
    this.#complete = true;
    return token;
  }

  /**
   * QueryContextAttributesW(SECPKG_ATTR_NEGOTIATION_INFO): the chosen package's SecPkgInfoW name. The SecPkgInfoW is
   * SSPI's memory (FreeContextBuffer). Undefined when the package does not say (not Negotiate).
   */
  #queryNegotiatedPackage(ctx: bigint): string | undefined {
    const ffi = this.#ffi;
    const p = ffi.koffi.alloc(ffi.types.negotiationInfo, 1);
    try {
      ffi.koffi.encode(p, ffi.types.negotiationInfo, { PackageInfo: null, NegotiationState: 0 });
      const rc = secStatus(ffi.f.QueryContextAttributesW(ctx, SSPI.SECPKG_ATTR_NEGOTIATION_INFO, p));
      if (secFailed(rc)) return undefined;
      const info = ffi.koffi.decode(p, ffi.types.negotiationInfo);
      const pkg = (info.PackageInfo as bigint | null) || null;
      if (pkg === null) return undefined;
      try {
        const name = (ffi.koffi.decode(pkg, ffi.types.pkgInfo).Name as bigint | null) || null;
        return name === null ? undefined : readWide(ffi, name);
      } finally {
        ffi.f.FreeContextBuffer(pkg);
      }
    } finally {
      ffi.koffi.free(p);
    }
  }

  #querySizes(ctx: bigint): SspiSizes {
    const ffi = this.#ffi;
    const p = ffi.koffi.alloc(ffi.types.sizes, 1);
    try {
      const rc = secStatus(ffi.f.QueryContextAttributesW(ctx, SSPI.SECPKG_ATTR_SIZES, p));
      if (secFailed(rc)) throw new SspiError('QueryContextAttributesW', rc);
      const s = ffi.koffi.decode(p, ffi.types.sizes);
      return {
        maxToken: Number(s.cbMaxToken),
        maxSignature: Number(s.cbMaxSignature),
        blockSize: Number(s.cbBlockSize),
        securityTrailer: Number(s.cbSecurityTrailer),
      };
    } finally {
      ffi.koffi.free(p);
    }
  }

  #live(): bigint {
    if (!this.#complete || this.#ctx === null || this.#disposed)
      throw new Error('the SSPI context is not established');
    return this.#ctx;
  }

  /**
   * EncryptMessage over TOKEN (cbSecurityTrailer) | DATA | PADDING (cbBlockSize): SSPI encrypts DATA in place and
   * sets each buffer's final length. MS-WSMV 2.2.9.1.1.2.2: the token is the header (its length goes in the
   * Length-Field), then the data and any padding.
   */
  wrap(data: Uint8Array): WrappedMessage {
    const ctx = this.#live();
    const sizes = this.sizes;
    const list = new BufferList(this.#ffi, [
      { type: SSPI.SECBUFFER_TOKEN, size: sizes.securityTrailer },
      { type: SSPI.SECBUFFER_DATA, data },
      { type: SSPI.SECBUFFER_PADDING, size: sizes.blockSize },
    ]);
    try {
      const rc = secStatus(this.#ffi.f.EncryptMessage(ctx, 0, list.desc, 0));
      if (secFailed(rc)) throw new SspiError('EncryptMessage', rc);
      const header = list.bytes(0);
      const sealed = list.bytes(1);
      const padding = list.bytes(2);
      const out = new Uint8Array(sealed.length + padding.length);
      out.set(sealed, 0);
      out.set(padding, sealed.length);
      return { header, data: out };
    } finally {
      list.free();
    }
  }

  /**
   * DecryptMessage of MS-WSMV's header and data. The `token` form (default) passes them as TOKEN and DATA and reads
   * DATA decrypted in place; the `stream` form hands SSPI both in one buffer and reads the plaintext where the DATA
   * buffer then points (inside it). A message that was signed but not encrypted is refused.
   */
  unwrap(header: Uint8Array, data: Uint8Array): Uint8Array {
    const ctx = this.#live();
    const ffi = this.#ffi;
    const stream = this.#opts.decrypt === 'stream';
    let list: BufferList;
    if (stream) {
      const whole = new Uint8Array(header.length + data.length);
      whole.set(header, 0);
      whole.set(data, header.length);
      list = new BufferList(ffi, [
        { type: SSPI.SECBUFFER_STREAM, data: whole },
        { type: SSPI.SECBUFFER_DATA },
      ]);
    } else {
      list = new BufferList(ffi, [
        { type: SSPI.SECBUFFER_TOKEN, data: header },
        { type: SSPI.SECBUFFER_DATA, data },
      ]);
    }
    const qop = ffi.koffi.alloc('uint32_t', 1);
    try {
      new Uint32Array(ffi.koffi.view(qop, 4))[0] = 0;
      const rc = secStatus(ffi.f.DecryptMessage(ctx, list.desc, 0, qop));
      if (secFailed(rc)) throw new SspiError('DecryptMessage', rc);
      if (new Uint32Array(ffi.koffi.view(qop, 4))[0] === SSPI.SECQOP_WRAP_NO_ENCRYPT)
        throw new SspiError('DecryptMessage', 0x8009030f, 'the message was signed but not encrypted');
      for (let i = 0; i < 2; i++) if (list.read(i).type === SSPI.SECBUFFER_DATA) return list.bytes(i);
      throw new SspiError('DecryptMessage', 0x80090326, 'no data buffer came back');
    } finally {
      ffi.koffi.free(qop);
      list.free();
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    released.unregister(this.#token);
    // A step on the worker thread still uses the handle: it releases it when it returns.
    if (!this.#busy) this.#release();
  }

  #release(): void {
    if (this.#ctx) {
      if (this.#started) this.#ffi.f.DeleteSecurityContext(this.#ctx);
      this.#ffi.koffi.free(this.#ctx);
    }
    this.#ctx = null;
    this.#cell.ctx = null;
  }
}
