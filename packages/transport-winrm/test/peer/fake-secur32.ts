import { createRequire } from 'node:module';
import {
  GssCredential,
  GssInitiator,
  type GssMech,
  GssTimeout,
  kerberosPrincipal,
} from '../../src/auth/gssapi/gss-context.ts';
import { classifyGssStatus, GssError, type KerberosFailure } from '../../src/auth/gssapi/gss-errors.ts';
import {
  GSS,
  type GssapiLoadOptions,
  type KoffiFunction,
  loadGssapi,
} from '../../src/auth/gssapi/gss-ffi.ts';
import { SEC_E } from '../../src/auth/sspi/sspi-errors.ts';
import { type Secur32Functions, SSPI, sspiTypes } from '../../src/auth/sspi/sspi-ffi.ts';

/**
 * A stand-in for secur32.dll written in JavaScript: the SSPI contract (handles, SecBufferDesc lists in native
 * memory, ISC_REQ_ALLOCATE_MEMORY tokens freed with FreeContextBuffer, SEC_I_CONTINUE_NEEDED / SEC_E_OK, in-place
 * EncryptMessage and DecryptMessage with TOKEN | DATA | PADDING or STREAM | DATA) implemented on the REAL GSSAPI
 * (MIT through koffi). With it the SSPI code of psremote runs a real Kerberos exchange against the test endpoint's
 * MIT acceptor, on Linux, through the same memory layouts the DLL would read and write.
 *
 * What it cannot show: that Windows' own SSPI behaves like this (status choices, Negotiate's NTLM fallback, the
 * logon session). Where SSPI reports one status for many causes, the mapping below follows winerror.h's meanings.
 */

const koffi = createRequire(import.meta.url)('koffi') as {
  alloc(type: unknown, n: number): bigint;
  free(p: bigint): void;
  encode(p: bigint, type: unknown, value: unknown): void;
  decode(p: bigint, type: unknown): Record<string, unknown>;
  view(p: bigint, n: number): ArrayBuffer;
  sizeof(type: unknown): number;
};
const T = sspiTypes(koffi as never);

const SEC_E_OK = SSPI.SEC_E_OK;
const CRED_TAG = 0x43524544n; // 'CRED'
const CTX_TAG = 0x43545854n; // 'CTXT'

interface FakeCredential {
  readonly mech: GssMech;
  readonly principal: string | undefined;
  readonly password: string | undefined;
  gss?: GssCredential;
}

interface FakeContext {
  readonly gss: GssInitiator;
  readonly cred: FakeCredential;
}

export interface FakeSecur32 {
  readonly functions: Secur32Functions;
  /** Every call by name, in order (with the ISC request flags and status for InitializeSecurityContextW). */
  readonly calls: string[];
  /** Handles and buffers not released yet. */
  live(): { credentials: number; contexts: number; buffers: number };
  /** The identities AcquireCredentialsHandleW was given (`user|domain`), passwords left out. */
  readonly identities: string[];
  /** The GSSAPI errors behind each failure status, for diagnosis. */
  readonly errors: unknown[];
}

/** The SECURITY_STATUS Windows' Kerberos package returns for each failure kind (winerror.h meanings). */
const STATUS_OF: Record<KerberosFailure, number> = {
  LogonDenied: SEC_E.LOGON_DENIED,
  PrincipalUnknown: SEC_E.LOGON_DENIED,
  AccountRestricted: SEC_E.LOGON_DENIED,
  TargetUnknown: SEC_E.TARGET_UNKNOWN,
  ClockSkew: SEC_E.TIME_SKEW,
  KdcUnreachable: SEC_E.NO_AUTHENTICATING_AUTHORITY,
  NotConfigured: SEC_E.NO_AUTHENTICATING_AUTHORITY,
  NoCredentials: SEC_E.NO_CREDENTIALS,
  MutualAuthFailed: SEC_E.MUTUAL_AUTH_FAILED,
  TargetNotAllowed: SEC_E.TARGET_UNKNOWN,
  Other: SEC_E.INTERNAL_ERROR,
};

/**
 * `continuation`: the failure came from the server's reply (the client's own tickets were fine): a reply that does
 * not verify with the session key means the server is not proven, SEC_E_MUTUAL_AUTH_FAILED ("The identity of the
 * server computer could not be verified").
 */
function statusOf(e: unknown, continuation = false): number {
  if (e instanceof GssTimeout) return SEC_E.NO_AUTHENTICATING_AUTHORITY;
  if (e instanceof GssError) {
    const failure = classifyGssStatus(e.status);
    if (continuation && (failure === 'LogonDenied' || failure === 'Other')) return SEC_E.MUTUAL_AUTH_FAILED;
    return STATUS_OF[failure];
  }
  return SEC_E.INTERNAL_ERROR;
}

function readWide(ptr: bigint | null, chars: number): string {
  if (!ptr || chars === 0) return '';
  return Buffer.from(koffi.view(ptr, chars * 2)).toString('utf16le');
}

interface Buf {
  readonly at: bigint;
  readonly type: number;
  readonly length: number;
  readonly ptr: bigint | null;
}

function buffers(desc: bigint | null): Buf[] {
  if (!desc) return [];
  const d = koffi.decode(desc, T.secBufferDesc);
  if (d.ulVersion !== SSPI.SECBUFFER_VERSION) throw new Error('SecBufferDesc version');
  const out: Buf[] = [];
  for (let i = 0; i < Number(d.cBuffers); i++) {
    const at = (d.pBuffers as bigint) + BigInt(i * koffi.sizeof(T.secBuffer));
    const b = koffi.decode(at, T.secBuffer);
    out.push({
      at,
      type: Number(b.BufferType),
      length: Number(b.cbBuffer),
      ptr: (b.pvBuffer as bigint | null) || null,
    });
  }
  return out;
}

function bytesOf(b: Buf): Uint8Array {
  if (!b.ptr || b.length === 0) return new Uint8Array(0);
  return new Uint8Array(koffi.view(b.ptr, b.length)).slice();
}

function setBuffer(b: Buf, length: number, ptr: bigint | null = b.ptr): void {
  koffi.encode(b.at, T.secBuffer, { cbBuffer: length, BufferType: b.type, pvBuffer: ptr });
}

function writeInto(ptr: bigint, data: Uint8Array): void {
  if (data.length > 0) new Uint8Array(koffi.view(ptr, data.length)).set(data);
}

/** `HTTP/host` → `HTTP@host` (host-based); `HTTP/host:port` → the principal name itself. */
function gssTarget(spn: string): { name: string; type: 'hostbasedService' | 'krb5PrincipalName' } {
  const slash = spn.indexOf('/');
  if (slash < 0 || spn.slice(slash + 1).includes(':')) return { name: spn, type: 'krb5PrincipalName' };
  return { name: `${spn.slice(0, slash)}@${spn.slice(slash + 1)}`, type: 'hostbasedService' };
}

export interface FakeSecur32Options {
  readonly gssapi?: GssapiLoadOptions;
  /** The fake's own bound on KDC waits (its GSSAPI calls); default 30 s. */
  readonly kdcTimeoutMs?: number;
  /** What QueryContextAttributesW(SECPKG_ATTR_SIZES) reports; a trailer larger than needed, as Windows gives. */
  readonly sizes?: { maxToken: number; maxSignature: number; blockSize: number; securityTrailer: number };
}

export function fakeSecur32(options: FakeSecur32Options = {}): FakeSecur32 {
  const ffi = loadGssapi(options.gssapi);
  const timeoutMs = options.kdcTimeoutMs ?? 30_000;
  const sizes = options.sizes ?? { maxToken: 48_000, maxSignature: 28, blockSize: 16, securityTrailer: 64 };
  const creds = new Map<bigint, FakeCredential>();
  const ctxs = new Map<bigint, FakeContext>();
  const allocated = new Set<bigint>();
  const calls: string[] = [];
  const identities: string[] = [];
  const errors: unknown[] = [];
  let next = 1n;

  const writeHandle = (p: bigint, id: bigint, tag: bigint) =>
    koffi.encode(p, T.secHandle, { dwLower: id, dwUpper: tag });
  const readHandle = (p: bigint | null, tag: bigint): bigint | undefined => {
    if (!p) return undefined;
    const h = koffi.decode(p, T.secHandle);
    return BigInt(h.dwUpper as bigint | number) === tag ? BigInt(h.dwLower as bigint | number) : undefined;
  };
  const ctxOf = (p: bigint | null) => {
    const id = readHandle(p, CTX_TAG);
    return id === undefined ? undefined : ctxs.get(id);
  };

  /** A KoffiFunction whose `.async` runs the implementation off the current tick, as koffi's worker would. */
  const sync = (name: string, impl: (...a: never[]) => number): KoffiFunction => {
    const f = ((...args: unknown[]) => {
      calls.push(name);
      return impl(...(args as never[])) >>> 0;
    }) as KoffiFunction;
    f.async = (...args: unknown[]) => {
      const cb = args.pop() as (err: unknown, rc?: number) => void;
      setImmediate(() => {
        try {
          cb(null, f(...args));
        } catch (e) {
          cb(e);
        }
      });
    };
    return f;
  };
  const asyncOnly = (name: string, impl: (...a: never[]) => Promise<number>): KoffiFunction => {
    const f = (() => {
      throw new Error(`${name} may wait on a KDC: call it through .async`);
    }) as unknown as KoffiFunction;
    f.async = (...args: unknown[]) => {
      const cb = args.pop() as (err: unknown, rc?: number) => void;
      calls.push(name);
      impl(...(args as never[])).then(
        (rc) => cb(null, rc >>> 0),
        (e: unknown) => cb(e),
      );
    };
    return f;
  };

  const AcquireCredentialsHandleW = sync(
    'AcquireCredentialsHandleW',
    (
      principal: bigint | null,
      pkg: string,
      use: number,
      _logonId: bigint | null,
      authData: bigint | null,
      _getKey: unknown,
      _getKeyArg: unknown,
      credential: bigint,
      _expiry: bigint | null,
    ) => {
      if (principal !== null) return SEC_E.UNSUPPORTED_FUNCTION;
      if (pkg !== 'Kerberos' && pkg !== 'Negotiate') return SEC_E.SECPKG_NOT_FOUND;
      if (use !== SSPI.SECPKG_CRED_OUTBOUND) return SEC_E.UNSUPPORTED_FUNCTION;
      let userName: string | undefined;
      let password: string | undefined;
      if (authData) {
        const id = koffi.decode(authData, T.authIdentity);
        if (id.Flags !== SSPI.SEC_WINNT_AUTH_IDENTITY_UNICODE) return SEC_E.UNKNOWN_CREDENTIALS;
        const user = readWide(id.User as bigint | null, Number(id.UserLength));
        const domain = readWide(id.Domain as bigint | null, Number(id.DomainLength));
        // SSPI copies the identity: the caller may wipe it as soon as this returns.
        password = readWide(id.Password as bigint | null, Number(id.PasswordLength));
        identities.push(`${user}|${domain}`);
        userName = domain.length > 0 ? `${user}@${domain.toUpperCase()}` : kerberosPrincipal(user);
      }
      const id = next++;
      // As Windows: the password is checked when a context needs a ticket, not here.
      creds.set(id, {
        mech: pkg === 'Kerberos' ? 'krb5' : 'spnego',
        principal: userName,
        password,
      });
      writeHandle(credential, id, CRED_TAG);
      return SEC_E_OK;
    },
  );

  const InitializeSecurityContextW = asyncOnly(
    'InitializeSecurityContextW',
    async (
      credential: bigint,
      context: bigint | null,
      target: string,
      req: number,
      _r1: number,
      drep: number,
      input: bigint | null,
      _r2: number,
      newContext: bigint,
      output: bigint,
      attrs: bigint,
      _expiry: bigint | null,
    ) => {
      calls.push(`ISC req=0x${req.toString(16)}`);
      const credId = readHandle(credential, CRED_TAG);
      const cred = credId === undefined ? undefined : creds.get(credId);
      if (!cred) return SEC_E.INVALID_HANDLE;
      if ((req & SSPI.ISC_REQ_ALLOCATE_MEMORY) === 0) return SEC_E.INSUFFICIENT_MEMORY;
      if (drep !== SSPI.SECURITY_NATIVE_DREP) return SEC_E.UNSUPPORTED_FUNCTION;
      const ins = buffers(input);
      const token = ins.find((b) => b.type === SSPI.SECBUFFER_TOKEN);
      const cbBuf = ins.find((b) => b.type === SSPI.SECBUFFER_CHANNEL_BINDINGS);
      let channelBindings: Uint8Array | undefined;
      if (cbBuf?.ptr) {
        const cb = koffi.decode(cbBuf.ptr, T.channelBindings);
        const len = Number(cb.cbApplicationDataLength);
        const off = Number(cb.dwApplicationDataOffset);
        if (off + len > cbBuf.length) return SEC_E.INVALID_TOKEN;
        channelBindings = new Uint8Array(koffi.view(cbBuf.ptr + BigInt(off), len)).slice();
      }
      const outs = buffers(output);
      const out = outs[0];
      if (!out || out.type !== SSPI.SECBUFFER_TOKEN) return SEC_E.INVALID_TOKEN;
      let ctx: FakeContext | undefined;
      try {
        if (context === null) {
          if (cred.mech === 'spnego' && !cred.gss) {
            // Windows' Negotiate reports the Kerberos package's own status (a refused password is
            // SEC_E_LOGON_DENIED); MIT's SPNEGO hides it ("cannot find mechanisms"), so ask bare Kerberos first.
            const probeCred = await GssCredential.acquire(ffi, {
              mech: 'krb5',
              ...(cred.principal !== undefined && cred.password !== undefined
                ? { userName: cred.principal, password: cred.password }
                : {}),
              timeoutMs,
            });
            const probe = new GssInitiator(ffi, {
              mech: 'krb5',
              credential: probeCred,
              target: gssTarget(target),
              timeoutMs,
            });
            try {
              await probe.step();
            } finally {
              probe.dispose();
              probeCred.dispose();
            }
          }
          if (!cred.gss)
            cred.gss = await GssCredential.acquire(ffi, {
              mech: cred.mech,
              ...(cred.principal !== undefined && cred.password !== undefined
                ? { userName: cred.principal, password: cred.password }
                : {}),
              timeoutMs,
            });
          ctx = {
            cred,
            gss: new GssInitiator(ffi, {
              mech: cred.mech,
              credential: cred.gss,
              target: gssTarget(target),
              ...(channelBindings ? { channelBindings } : {}),
              timeoutMs,
            }),
          };
        } else {
          ctx = ctxOf(context);
          if (!ctx) return SEC_E.INVALID_HANDLE;
          if (!token) return SEC_E.INVALID_TOKEN;
        }
        const produced = await ctx.gss.step(token ? bytesOf(token) : undefined);
        if (context === null) {
          const id = next++;
          ctxs.set(id, ctx);
          writeHandle(newContext, id, CTX_TAG);
        }
        let p: bigint | null = null;
        if (produced.length > 0) {
          p = koffi.alloc('uint8_t', produced.length);
          allocated.add(p);
          writeInto(p, produced);
        }
        setBuffer(out, produced.length, p);
        const f = ctx.gss.flags;
        let ret = 0x100; // ISC_RET_ALLOCATED_MEMORY
        if (f & GSS.C_MUTUAL_FLAG) ret |= SSPI.ISC_RET_MUTUAL_AUTH;
        if (f & GSS.C_REPLAY_FLAG) ret |= 0x4;
        if (f & GSS.C_SEQUENCE_FLAG) ret |= 0x8;
        if (f & GSS.C_CONF_FLAG) ret |= SSPI.ISC_RET_CONFIDENTIALITY;
        if (f & GSS.C_INTEG_FLAG) ret |= SSPI.ISC_RET_INTEGRITY;
        new Uint32Array(koffi.view(attrs, 4))[0] = ret;
        const rc = ctx.gss.complete ? SSPI.SEC_E_OK : SSPI.SEC_I_CONTINUE_NEEDED;
        calls.push(`ISC -> 0x${rc.toString(16)}`);
        return rc;
      } catch (e) {
        if (context === null) ctx?.gss.dispose();
        errors.push(e);
        const rc = statusOf(e, context !== null);
        calls.push(`ISC -> 0x${rc.toString(16)}`);
        return rc;
      }
    },
  );

  const QueryContextAttributesW = sync(
    'QueryContextAttributesW',
    (context: bigint, attribute: number, buffer: bigint) => {
      const ctx = ctxOf(context);
      if (!ctx?.gss.complete) return SEC_E.INVALID_HANDLE;
      if (attribute !== SSPI.SECPKG_ATTR_SIZES) return SEC_E.UNSUPPORTED_FUNCTION;
      koffi.encode(buffer, T.sizes, {
        cbMaxToken: sizes.maxToken,
        cbMaxSignature: sizes.maxSignature,
        cbBlockSize: sizes.blockSize,
        cbSecurityTrailer: sizes.securityTrailer,
      });
      return SEC_E_OK;
    },
  );

  const EncryptMessage = sync('EncryptMessage', (context: bigint, qop: number, message: bigint) => {
    const ctx = ctxOf(context);
    if (!ctx?.gss.complete) return SEC_E.INVALID_HANDLE;
    if (qop !== 0) return SEC_E.QOP_NOT_SUPPORTED;
    const bs = buffers(message);
    const token = bs.find((b) => b.type === SSPI.SECBUFFER_TOKEN);
    const data = bs.find((b) => b.type === SSPI.SECBUFFER_DATA);
    const padding = bs.find((b) => b.type === SSPI.SECBUFFER_PADDING);
    if (!token || !data) return SEC_E.INVALID_TOKEN;
    const plain = bytesOf(data);
    let wrapped: { header: Uint8Array; data: Uint8Array };
    try {
      wrapped = ctx.gss.wrap(plain);
    } catch (e) {
      return statusOf(e);
    }
    const extra = wrapped.data.length - plain.length;
    if (wrapped.header.length > token.length || (extra > 0 && (!padding || extra > padding.length)))
      return SEC_E.BUFFER_TOO_SMALL;
    // In place: the token's length shrinks to what was written, DATA is encrypted where it lies.
    if (token.ptr) writeInto(token.ptr, wrapped.header);
    setBuffer(token, wrapped.header.length);
    if (data.ptr) writeInto(data.ptr, wrapped.data.subarray(0, plain.length));
    if (padding) {
      if (padding.ptr && extra > 0) writeInto(padding.ptr, wrapped.data.subarray(plain.length));
      setBuffer(padding, extra);
    }
    return SEC_E_OK;
  });

  const DecryptMessage = sync(
    'DecryptMessage',
    (context: bigint, message: bigint, _sequence: number, qop: bigint | null) => {
      const ctx = ctxOf(context);
      if (!ctx?.gss.complete) return SEC_E.INVALID_HANDLE;
      const bs = buffers(message);
      const stream = bs.find((b) => b.type === SSPI.SECBUFFER_STREAM);
      const token = bs.find((b) => b.type === SSPI.SECBUFFER_TOKEN);
      const data = bs.find((b) => b.type === SSPI.SECBUFFER_DATA);
      if (!data) return SEC_E.INVALID_TOKEN;
      try {
        if (stream) {
          calls.push('DecryptMessage:stream');
          if (!stream.ptr) return SEC_E.INCOMPLETE_MESSAGE;
          const plain = ctx.gss.unwrapToken(bytesOf(stream));
          // The plaintext is left inside the stream buffer, after the header; DATA points at it.
          const at = stream.ptr + BigInt(stream.length - plain.length);
          writeInto(at, plain);
          setBuffer(data, plain.length, at);
        } else {
          calls.push('DecryptMessage:token');
          if (!token) return SEC_E.INVALID_TOKEN;
          const plain = ctx.gss.unwrap(bytesOf(token), bytesOf(data));
          if (data.ptr) writeInto(data.ptr, plain);
          setBuffer(data, plain.length);
        }
      } catch (e) {
        return e instanceof GssError ? SEC_E.MESSAGE_ALTERED : SEC_E.INTERNAL_ERROR;
      }
      if (qop) new Uint32Array(koffi.view(qop, 4))[0] = 0;
      return SEC_E_OK;
    },
  );

  const CompleteAuthToken = sync('CompleteAuthToken', () => SEC_E.UNSUPPORTED_FUNCTION);

  const DeleteSecurityContext = sync('DeleteSecurityContext', (context: bigint) => {
    const id = readHandle(context, CTX_TAG);
    const ctx = id === undefined ? undefined : ctxs.get(id);
    if (!ctx || id === undefined) return SEC_E.INVALID_HANDLE;
    ctx.gss.dispose();
    ctxs.delete(id);
    return SEC_E_OK;
  });

  const FreeCredentialsHandle = sync('FreeCredentialsHandle', (credential: bigint) => {
    const id = readHandle(credential, CRED_TAG);
    const cred = id === undefined ? undefined : creds.get(id);
    if (!cred || id === undefined) return SEC_E.INVALID_HANDLE;
    cred.gss?.dispose();
    creds.delete(id);
    return SEC_E_OK;
  });

  const FreeContextBuffer = sync('FreeContextBuffer', (buffer: bigint) => {
    if (!allocated.has(buffer)) return SEC_E.INVALID_HANDLE;
    allocated.delete(buffer);
    koffi.free(buffer);
    return SEC_E_OK;
  });

  return {
    functions: {
      AcquireCredentialsHandleW,
      InitializeSecurityContextW,
      QueryContextAttributesW,
      EncryptMessage,
      DecryptMessage,
      CompleteAuthToken,
      DeleteSecurityContext,
      FreeCredentialsHandle,
      FreeContextBuffer,
    },
    calls,
    identities,
    errors,
    live: () => ({ credentials: creds.size, contexts: ctxs.size, buffers: allocated.size }),
  };
}
