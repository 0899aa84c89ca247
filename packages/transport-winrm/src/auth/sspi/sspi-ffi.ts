import { createRequire } from 'node:module';
import { win32 } from 'node:path';
import { gssUnavailable } from '../gssapi/gss-errors.ts';
import type { Koffi, KoffiFunction } from '../gssapi/gss-ffi.ts';

/**
 * Windows SSPI (secur32.dll: sspi.h / winerror.h) bound at run time with koffi, for Kerberos and Negotiate on
 * Windows. Nothing is compiled at install; without koffi or the DLL this module says why.
 *
 * Layouts are declared with explicit widths for 64-bit Windows (x64 and arm64 share one ABI here: LLP64, so ULONG
 * is 32 bits and pointers and ULONG_PTR are 64). 32-bit Windows is not supported (ULONG_PTR would be 32 bits).
 * Every pointer argument is declared `void *` and every struct is laid out in native memory by the caller
 * (koffi.alloc/encode/decode), so what the functions see is exactly the C layout, and a test can stand in a
 * JavaScript implementation of the same functions over the same memory (see `Secur32Functions`).
 */

/** sspi.h / winerror.h values (identical on every Windows architecture). */
export const SSPI = {
  SECPKG_CRED_OUTBOUND: 2,
  SEC_WINNT_AUTH_IDENTITY_UNICODE: 2,
  SECURITY_NATIVE_DREP: 0x10,
  SECBUFFER_VERSION: 0,
  SECBUFFER_EMPTY: 0,
  SECBUFFER_DATA: 1,
  SECBUFFER_TOKEN: 2,
  SECBUFFER_PADDING: 9,
  SECBUFFER_STREAM: 10,
  SECBUFFER_CHANNEL_BINDINGS: 14,
  SECPKG_ATTR_SIZES: 0,
  /** SecPkgContext_NegotiationInfoW: which package Negotiate chose (Kerberos or NTLM). */
  SECPKG_ATTR_NEGOTIATION_INFO: 12,
  ISC_REQ_DELEGATE: 0x1,
  ISC_REQ_MUTUAL_AUTH: 0x2,
  ISC_REQ_REPLAY_DETECT: 0x4,
  ISC_REQ_SEQUENCE_DETECT: 0x8,
  ISC_REQ_CONFIDENTIALITY: 0x10,
  ISC_REQ_ALLOCATE_MEMORY: 0x100,
  ISC_REQ_INTEGRITY: 0x10000,
  ISC_RET_MUTUAL_AUTH: 0x2,
  ISC_RET_CONFIDENTIALITY: 0x10,
  ISC_RET_INTEGRITY: 0x10000,
  /** DecryptMessage's pfQOP when the message was signed only (sspi.h). */
  SECQOP_WRAP_NO_ENCRYPT: 0x80000001,
  SEC_E_OK: 0,
  SEC_I_CONTINUE_NEEDED: 0x00090312,
  SEC_I_COMPLETE_NEEDED: 0x00090313,
  SEC_I_COMPLETE_AND_CONTINUE: 0x00090314,
} as const;

/** A SECURITY_STATUS (an HRESULT) is a failure when its severity bit is set. */
export function secFailed(status: number): boolean {
  return (status & 0x80000000) !== 0;
}

/**
 * A SECURITY_STATUS as the unsigned 32-bit number the constants above are written as. sspi.h declares it a LONG:
 * whoever hands one back signed (-2146893044 for SEC_E_LOGON_DENIED) compares equal after this.
 */
export function secStatus(status: number): number {
  return status >>> 0;
}

/**
 * The functions psremote calls, by their secur32 names. Every argument is what koffi passes for the declarations in
 * `bindSecur32`: native pointers as bigint (or null), ULONGs as numbers, the two strings as JS strings (koffi
 * converts `const char16_t *`). Return: the SECURITY_STATUS as an unsigned 32-bit number. AcquireCredentialsHandleW
 * and InitializeSecurityContextW are called through `.async` (they may wait on a KDC).
 */
export interface Secur32Functions {
  readonly AcquireCredentialsHandleW: KoffiFunction;
  readonly InitializeSecurityContextW: KoffiFunction;
  readonly QueryContextAttributesW: KoffiFunction;
  readonly EncryptMessage: KoffiFunction;
  readonly DecryptMessage: KoffiFunction;
  readonly CompleteAuthToken: KoffiFunction;
  readonly DeleteSecurityContext: KoffiFunction;
  readonly FreeCredentialsHandle: KoffiFunction;
  readonly FreeContextBuffer: KoffiFunction;
}

/** The struct types of sspi.h for 64-bit Windows. */
export interface SspiTypes {
  /** SecHandle (CredHandle, CtxtHandle): two ULONG_PTR. 16 bytes. */
  readonly secHandle: unknown;
  /** SecBuffer: ULONG cbBuffer, ULONG BufferType, PVOID pvBuffer. 16 bytes. */
  readonly secBuffer: unknown;
  /** SecBufferDesc: ULONG ulVersion, ULONG cBuffers, PSecBuffer pBuffers. 16 bytes. */
  readonly secBufferDesc: unknown;
  /** SEC_WINNT_AUTH_IDENTITY_W: User, UserLength, Domain, DomainLength, Password, PasswordLength, Flags. 48 bytes. */
  readonly authIdentity: unknown;
  /** SecPkgContext_Sizes: four ULONGs. 16 bytes. */
  readonly sizes: unknown;
  /** SEC_CHANNEL_BINDINGS: eight ULONGs (types, lengths and offsets from the struct's start). 32 bytes. */
  readonly channelBindings: unknown;
  /** SecPkgContext_NegotiationInfoW: PSecPkgInfoW PackageInfo, ULONG NegotiationState. 16 bytes. */
  readonly negotiationInfo: unknown;
  /** SecPkgInfoW: ULONG fCapabilities, USHORT wVersion, USHORT wRPCID, ULONG cbMaxToken, Name, Comment. 32 bytes. */
  readonly pkgInfo: unknown;
}

/** One loaded secur32 (or a stand-in): koffi for memory, the struct types, the functions. */
export interface SspiFfi {
  readonly koffi: Koffi;
  /** For messages: `secur32.dll`. */
  readonly library: string;
  readonly types: SspiTypes;
  readonly f: Secur32Functions;
}

export interface SspiLoadOptions {
  /**
   * The DLL; default `secur32.dll` from the System32 directory (`%SystemRoot%\System32\secur32.dll`, by full path so
   * no secur32.dll beside node.exe or in the working directory is picked first). secur32 exports every function
   * used here (forwarding them to sspicli.dll).
   */
  readonly library?: string;
  /** The koffi module specifier; default `koffi`. */
  readonly koffiModule?: string;
  /**
   * Functions to use instead of the DLL's (tests: a JavaScript SSPI over the real GSSAPI). When given, nothing is
   * loaded and the platform is not checked.
   */
  readonly functions?: Secur32Functions;
  /** How DecryptMessage is given a message (SspiInitiatorOptions.decrypt); default `token`. */
  readonly decrypt?: 'stream' | 'token';
}

let koffiCache: Koffi | undefined;
/** koffi registers struct names process-wide: the types are made once. */
let typesCache: SspiTypes | undefined;
const loaded = new Map<string, SspiFfi>();

function requireKoffi(specifier = 'koffi'): Koffi {
  if (specifier === 'koffi' && koffiCache) return koffiCache;
  try {
    const required = createRequire(import.meta.url)(specifier) as { default?: Koffi } & Koffi;
    const k = required.default ?? required;
    if (specifier === 'koffi') koffiCache = k;
    return k;
  } catch (e) {
    throw gssUnavailable(
      `Kerberos needs the koffi package (a prebuilt FFI module, a dependency of @psremote/transport-winrm), and it could not be loaded: ${(e as Error).message.split('\n')[0]}`,
      'KoffiMissing',
      e,
    );
  }
}

/** The sspi.h structs with explicit member types (the same on every host koffi runs on, for 64-bit Windows). */
export function sspiTypes(koffi: Koffi): SspiTypes {
  if (typesCache) return typesCache;
  const types: SspiTypes = {
    secHandle: koffi.struct('psr_SecHandle', { dwLower: 'uint64_t', dwUpper: 'uint64_t' }),
    secBuffer: koffi.struct('psr_SecBuffer', {
      cbBuffer: 'uint32_t',
      BufferType: 'uint32_t',
      pvBuffer: 'void *',
    }),
    secBufferDesc: koffi.struct('psr_SecBufferDesc', {
      ulVersion: 'uint32_t',
      cBuffers: 'uint32_t',
      pBuffers: 'void *',
    }),
    authIdentity: koffi.struct('psr_SEC_WINNT_AUTH_IDENTITY_W', {
      User: 'void *',
      UserLength: 'uint32_t',
      Domain: 'void *',
      DomainLength: 'uint32_t',
      Password: 'void *',
      PasswordLength: 'uint32_t',
      Flags: 'uint32_t',
    }),
    sizes: koffi.struct('psr_SecPkgContext_Sizes', {
      cbMaxToken: 'uint32_t',
      cbMaxSignature: 'uint32_t',
      cbBlockSize: 'uint32_t',
      cbSecurityTrailer: 'uint32_t',
    }),
    channelBindings: koffi.struct('psr_SEC_CHANNEL_BINDINGS', {
      dwInitiatorAddrType: 'uint32_t',
      cbInitiatorLength: 'uint32_t',
      dwInitiatorOffset: 'uint32_t',
      dwAcceptorAddrType: 'uint32_t',
      cbAcceptorLength: 'uint32_t',
      dwAcceptorOffset: 'uint32_t',
      cbApplicationDataLength: 'uint32_t',
      dwApplicationDataOffset: 'uint32_t',
    }),
    negotiationInfo: koffi.struct('psr_SecPkgContext_NegotiationInfoW', {
      PackageInfo: 'void *',
      NegotiationState: 'uint32_t',
    }),
    pkgInfo: koffi.struct('psr_SecPkgInfoW', {
      fCapabilities: 'uint32_t',
      wVersion: 'uint16_t',
      wRPCID: 'uint16_t',
      cbMaxToken: 'uint32_t',
      Name: 'void *',
      Comment: 'void *',
    }),
  };
  typesCache = types;
  return types;
}

/**
 * The declarations of the functions psremote calls (sspi.h; SECURITY_STATUS is a LONG, read unsigned here). koffi's
 * default ABI is the one x64 and arm64 Windows use (WINAPI is only distinct on 32-bit x86).
 */
export const SECUR32_SIGNATURES: Readonly<Record<keyof Secur32Functions, string>> = {
  AcquireCredentialsHandleW:
    'uint32_t AcquireCredentialsHandleW(void *principal, const char16_t *package, uint32_t credentialUse, void *logonId, void *authData, void *getKeyFn, void *getKeyArgument, void *credential, void *expiry)',
  InitializeSecurityContextW:
    'uint32_t InitializeSecurityContextW(void *credential, void *context, const char16_t *targetName, uint32_t contextReq, uint32_t reserved1, uint32_t targetDataRep, void *input, uint32_t reserved2, void *newContext, void *output, void *contextAttr, void *expiry)',
  QueryContextAttributesW:
    'uint32_t QueryContextAttributesW(void *context, uint32_t attribute, void *buffer)',
  EncryptMessage: 'uint32_t EncryptMessage(void *context, uint32_t qop, void *message, uint32_t sequence)',
  DecryptMessage: 'uint32_t DecryptMessage(void *context, void *message, uint32_t sequence, void *qop)',
  CompleteAuthToken: 'uint32_t CompleteAuthToken(void *context, void *token)',
  DeleteSecurityContext: 'uint32_t DeleteSecurityContext(void *context)',
  FreeCredentialsHandle: 'uint32_t FreeCredentialsHandle(void *credential)',
  FreeContextBuffer: 'uint32_t FreeContextBuffer(void *buffer)',
};

/** Binds the functions of a loaded secur32.dll. */
function bindSecur32(lib: { func(signature: string): KoffiFunction }, library: string): Secur32Functions {
  const bound: Partial<Record<keyof Secur32Functions, KoffiFunction>> = {};
  for (const [name, sig] of Object.entries(SECUR32_SIGNATURES) as [keyof Secur32Functions, string][]) {
    try {
      bound[name] = lib.func(sig);
    } catch (e) {
      throw gssUnavailable(`${library} has no ${name}.`, 'LibraryMissing', e);
    }
  }
  return bound as Secur32Functions;
}

/**
 * Loads (once) and binds SSPI. Throws `KerberosNotAvailable` (GssUnavailableError) when koffi or the DLL is missing,
 * or when not on 64-bit Windows (unless `functions` stands in for the DLL).
 */
export function loadSspi(options: SspiLoadOptions = {}): SspiFfi {
  const koffi = requireKoffi(options.koffiModule);
  if (options.functions)
    return { koffi, library: 'secur32 (stand-in)', types: sspiTypes(koffi), f: options.functions };
  if (process.platform !== 'win32') throw gssUnavailable('SSPI exists only on Windows.', 'LibraryMissing');
  if (process.arch !== 'x64' && process.arch !== 'arm64')
    throw gssUnavailable(
      `Kerberos through SSPI is implemented for 64-bit Windows (x64, arm64), not ${process.arch}.`,
      'Windows',
    );
  if (process.env.PSREMOTE_GSSAPI === 'off')
    throw gssUnavailable('Kerberos is switched off (PSREMOTE_GSSAPI=off).', 'Disabled');
  const library = options.library ?? 'secur32.dll';
  const path = options.library ?? systemDll('secur32.dll');
  const cached = loaded.get(path);
  if (cached) return cached;
  let lib: { func(signature: string): KoffiFunction };
  try {
    lib = koffi.load(path);
  } catch (e) {
    const where = path === library ? '' : ` (${path})`;
    throw gssUnavailable(
      `Kerberos needs ${library}${where}, and it could not be loaded: ${(e as Error).message.split('\n')[0]}`,
      'LibraryMissing',
      e,
    );
  }
  const ffi: SspiFfi = { koffi, library, types: sspiTypes(koffi), f: bindSecur32(lib, library) };
  loaded.set(path, ffi);
  return ffi;
}

/** A DLL of the System32 directory by full path (bare name when the environment does not say where Windows is). */
export function systemDll(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = env.SystemRoot ?? env.SYSTEMROOT ?? env.windir;
  return root ? win32.join(root, 'System32', name) : name;
}
