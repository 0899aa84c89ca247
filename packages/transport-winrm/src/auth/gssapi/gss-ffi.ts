import { createRequire } from 'node:module';
import { gssUnavailable } from './gss-errors.ts';

/**
 * The platform GSSAPI (RFC 2744 C bindings) bound at run time with koffi: nothing is compiled at install, and
 * without koffi or the library this module reports why instead of failing the import of the package.
 *
 * Linux/BSD: MIT krb5 (`libgssapi_krb5.so.2`) or Heimdal (`libgssapi.so.3`). macOS: GSS.framework, whose C structs
 * are packed to 2 bytes (`#pragma pack(push,2)` in its gssapi.h) and whose IOV calls are exported only as
 * `__ApplePrivate_gss_wrap_iov` and friends (python-gssapi and OMI look them up by that name too); a Homebrew MIT
 * krb5 works through PSREMOTE_GSSAPI_LIBRARY. Windows uses SSPI, a different API: see ../sspi/.
 */

/** koffi's types, as far as this module uses them (koffi is loaded lazily; its own .d.ts is not needed). */
export interface KoffiFunction {
  (...args: unknown[]): number;
  async(...args: unknown[]): void;
}
interface KoffiLibrary {
  func(signature: string): KoffiFunction;
  unload(): void;
}
export interface Koffi {
  load(path: string): KoffiLibrary;
  struct(name: string, def: Record<string, unknown>): unknown;
  pack(name: string, def: Record<string, unknown>): unknown;
  alloc(type: unknown, len: number): bigint;
  free(ptr: bigint): void;
  encode(ptr: bigint, type: unknown, value: unknown): void;
  decode(ptr: bigint, type: unknown): Record<string, unknown>;
  view(ptr: bigint, len: number): ArrayBuffer;
  sizeof(type: unknown): number;
}

/** Where to find the library; for tests and for a library outside the default search (Homebrew MIT on macOS). */
export interface GssapiLoadOptions {
  /**
   * The shared library to load (a path or a soname). Default: PSREMOTE_GSSAPI_LIBRARY, else the platform's names.
   */
  readonly library?: string;
  /** The koffi module specifier; default `koffi`. Tests point it at a missing module. */
  readonly koffiModule?: string;
}

/** RFC 2744 constants (the same values in MIT, Heimdal and GSS.framework). */
export const GSS = {
  C_DELEG_FLAG: 1,
  C_MUTUAL_FLAG: 2,
  C_REPLAY_FLAG: 4,
  C_SEQUENCE_FLAG: 8,
  C_CONF_FLAG: 16,
  C_INTEG_FLAG: 32,
  C_INITIATE: 1,
  C_GSS_CODE: 1,
  C_MECH_CODE: 2,
  S_COMPLETE: 0,
  S_CONTINUE_NEEDED: 1,
  C_INDEFINITE: 0xffffffff,
  IOV_BUFFER_TYPE_EMPTY: 0,
  IOV_BUFFER_TYPE_DATA: 1,
  IOV_BUFFER_TYPE_HEADER: 2,
  IOV_BUFFER_TYPE_PADDING: 9,
} as const;

/** The calling-error and routine-error bits of a major status (RFC 2744 3.9.1). */
export function gssError(major: number): boolean {
  return (major & 0xffff0000) !== 0;
}

/** DER contents of the OIDs this package uses. */
export const OIDS = {
  /** 1.2.840.113554.1.2.2: Kerberos V5 (RFC 1964). */
  krb5: '2a864886f712010202',
  /** 1.3.6.1.5.5.2: SPNEGO (RFC 4178). */
  spnego: '2b0601050502',
  /** 1.2.840.113554.1.2.1.4: GSS_C_NT_HOSTBASED_SERVICE (`service@host`). */
  hostbasedService: '2a864886f71201020104',
  /** 1.2.840.113554.1.2.1.1: GSS_C_NT_USER_NAME. */
  userName: '2a864886f71201020101',
  /** 1.2.840.113554.1.2.2.1: GSS_KRB5_NT_PRINCIPAL_NAME (`service/host:port@REALM`). */
  krb5PrincipalName: '2a864886f71201020201',
} as const;
export type OidName = keyof typeof OIDS;

/** The bound functions and struct types of one loaded GSSAPI library. */
export interface GssFfi {
  readonly koffi: Koffi;
  /** What was loaded, for messages: `libgssapi_krb5.so.2`. */
  readonly library: string;
  readonly apple: boolean;
  readonly types: {
    readonly buffer: unknown;
    readonly oid: unknown;
    readonly oidSet: unknown;
    readonly channelBindings: unknown;
    readonly iov: unknown;
  };
  /** gss_OID pointers (stable native memory, never freed). */
  oid(name: OidName): bigint;
  /** A gss_OID_set of one OID (stable native memory, never freed). */
  oidSet(name: OidName): bigint;
  readonly f: {
    import_name: KoffiFunction;
    release_name: KoffiFunction;
    display_name: KoffiFunction;
    acquire_cred: KoffiFunction;
    acquire_cred_with_password: KoffiFunction | undefined;
    release_cred: KoffiFunction;
    set_neg_mechs: KoffiFunction | undefined;
    init_sec_context: KoffiFunction;
    delete_sec_context: KoffiFunction;
    release_buffer: KoffiFunction;
    display_status: KoffiFunction;
    wrap_iov: KoffiFunction;
    unwrap_iov: KoffiFunction;
    wrap_iov_length: KoffiFunction;
    wrap: KoffiFunction | undefined;
    unwrap: KoffiFunction | undefined;
  };
}

/** The library names tried in order, per platform. */
export function defaultLibraryNames(platform: NodeJS.Platform = process.platform): readonly string[] {
  switch (platform) {
    case 'darwin':
      return ['/System/Library/Frameworks/GSS.framework/GSS'];
    case 'win32':
      return [];
    default:
      // MIT first (Debian/Ubuntu/RHEL default), then Heimdal, then an unversioned name (FreeBSD, dev packages).
      return ['libgssapi_krb5.so.2', 'libgssapi.so.3', 'libgssapi_krb5.so', 'libgssapi.so'];
  }
}

const cache = new Map<string, GssFfi>();

/**
 * Loads (once per library) and binds the GSSAPI. Throws a PSRemotingError (`KerberosNotAvailable`) naming what is
 * missing: koffi, the library, or a function the library lacks.
 */
export function loadGssapi(options: GssapiLoadOptions = {}): GssFfi {
  if (process.platform === 'win32')
    throw gssUnavailable(
      'GSSAPI is not used on Windows: Kerberos and Negotiate go through SSPI there (implemented, not yet tested on a real Windows machine); CredSSP with Kerberos inside is not bound to SSPI yet and uses NTLM.',
      'Windows',
    );
  if (process.env.PSREMOTE_GSSAPI === 'off')
    throw gssUnavailable('GSSAPI is switched off (PSREMOTE_GSSAPI=off).', 'Disabled');
  const wanted = options.library ?? process.env.PSREMOTE_GSSAPI_LIBRARY;
  const names = wanted ? [wanted] : defaultLibraryNames();
  const key = `${options.koffiModule ?? 'koffi'}\0${names.join('\0')}`;
  const cached = cache.get(key);
  if (cached) return cached;

  let koffi: Koffi;
  try {
    const required = createRequire(import.meta.url)(options.koffiModule ?? 'koffi') as {
      default?: Koffi;
    } & Koffi;
    koffi = required.default ?? required;
  } catch (e) {
    throw gssUnavailable(
      `Kerberos needs the koffi package (a prebuilt FFI module, a dependency of @psremote/transport-winrm), and it could not be loaded: ${(e as Error).message.split('\n')[0]}`,
      'KoffiMissing',
      e,
    );
  }
  let lib: KoffiLibrary | undefined;
  let loaded = '';
  const failures: string[] = [];
  for (const name of names) {
    try {
      lib = koffi.load(name);
      loaded = name;
      break;
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (!lib)
    throw gssUnavailable(
      `Kerberos needs the system GSSAPI library, and none could be loaded (${failures.join('; ')}). On Debian and Ubuntu: apt-get install libgssapi-krb5-2 krb5-user; on RHEL: dnf install krb5-libs krb5-workstation.`,
      'LibraryMissing',
    );
  const ffi = bind(koffi, lib, loaded, loaded.includes('GSS.framework'));
  cache.set(key, ffi);
  return ffi;
}

function bind(koffi: Koffi, lib: KoffiLibrary, library: string, apple: boolean): GssFfi {
  // GSS.framework packs its structs to 2 bytes; every member here keeps even offsets, so pack(1) lays them out
  // identically. MIT and Heimdal use the natural C layout.
  const struct = (name: string, def: Record<string, unknown>) =>
    apple ? koffi.pack(name, def) : koffi.struct(name, def);
  const suffix = apple ? '_apple' : '';
  const buffer = struct(`psr_gss_buffer_desc${suffix}`, { length: 'size_t', value: 'void *' });
  const oid = struct(`psr_gss_OID_desc${suffix}`, { length: 'uint32_t', elements: 'void *' });
  const oidSet = struct(`psr_gss_OID_set_desc${suffix}`, { count: 'size_t', elements: 'void *' });
  const channelBindings = struct(`psr_gss_channel_bindings${suffix}`, {
    initiator_addrtype: 'uint32_t',
    initiator_address: buffer,
    acceptor_addrtype: 'uint32_t',
    acceptor_address: buffer,
    application_data: buffer,
  });
  const iov = struct(`psr_gss_iov_buffer_desc${suffix}`, { type: 'uint32_t', buffer });
  const B = `psr_gss_buffer_desc${suffix}`;
  const CB = `psr_gss_channel_bindings${suffix}`;
  const fn = (sig: string) => lib.func(sig);
  const optional = (sig: string): KoffiFunction | undefined => {
    try {
      return lib.func(sig);
    } catch {
      return undefined;
    }
  };
  const iovName = (n: string) => (apple ? `__ApplePrivate_${n}` : n);
  const required = (sig: string, name: string): KoffiFunction => {
    try {
      return lib.func(sig);
    } catch (e) {
      throw gssUnavailable(
        `the GSSAPI library ${library} has no ${name}, which WinRM message encryption needs (MS-WSMV 2.2.9.1: the IOV form).`,
        'LibraryMissing',
        e,
      );
    }
  };
  const f = {
    import_name: fn(
      `uint32_t gss_import_name(_Out_ uint32_t *minor, ${B} *input, void *type, _Out_ void **out)`,
    ),
    release_name: fn('uint32_t gss_release_name(_Out_ uint32_t *minor, _Inout_ void **name)'),
    display_name: fn(
      `uint32_t gss_display_name(_Out_ uint32_t *minor, void *name, _Out_ ${B} *out, _Out_ void **type)`,
    ),
    acquire_cred: fn(
      'uint32_t gss_acquire_cred(_Out_ uint32_t *minor, void *name, uint32_t time, void *mechs, int usage, _Out_ void **cred, void *actual, void *timeRec)',
    ),
    acquire_cred_with_password: optional(
      `uint32_t gss_acquire_cred_with_password(_Out_ uint32_t *minor, void *name, ${B} *password, uint32_t time, void *mechs, int usage, _Out_ void **cred, void *actual, void *timeRec)`,
    ),
    release_cred: fn('uint32_t gss_release_cred(_Out_ uint32_t *minor, _Inout_ void **cred)'),
    set_neg_mechs: optional('uint32_t gss_set_neg_mechs(_Out_ uint32_t *minor, void *cred, void *mechs)'),
    init_sec_context: fn(
      `uint32_t gss_init_sec_context(_Out_ uint32_t *minor, void *cred, _Inout_ void **ctx, void *target, void *mech, uint32_t flags, uint32_t time, ${CB} *bindings, ${B} *input, _Out_ void **actualMech, _Out_ ${B} *output, _Out_ uint32_t *retFlags, _Out_ uint32_t *timeRec)`,
    ),
    delete_sec_context: fn(
      'uint32_t gss_delete_sec_context(_Out_ uint32_t *minor, _Inout_ void **ctx, void *output)',
    ),
    release_buffer: fn(`uint32_t gss_release_buffer(_Out_ uint32_t *minor, _Inout_ ${B} *buffer)`),
    display_status: fn(
      `uint32_t gss_display_status(_Out_ uint32_t *minor, uint32_t status, int type, void *mech, _Inout_ uint32_t *context, _Out_ ${B} *out)`,
    ),
    // The token forms (RFC 2743 2.3.3-4): what CredSSP seals its TSRequest fields with.
    wrap: optional(
      `uint32_t gss_wrap(_Out_ uint32_t *minor, void *ctx, int conf, uint32_t qop, ${B} *input, _Out_ int *confState, _Out_ ${B} *output)`,
    ),
    unwrap: optional(
      `uint32_t gss_unwrap(_Out_ uint32_t *minor, void *ctx, ${B} *input, _Out_ ${B} *output, _Out_ int *confState, _Out_ uint32_t *qop)`,
    ),
    wrap_iov: required(
      `uint32_t ${iovName('gss_wrap_iov')}(_Out_ uint32_t *minor, void *ctx, int conf, uint32_t qop, _Out_ int *confState, void *iov, int count)`,
      iovName('gss_wrap_iov'),
    ),
    unwrap_iov: required(
      `uint32_t ${iovName('gss_unwrap_iov')}(_Out_ uint32_t *minor, void *ctx, _Out_ int *confState, _Out_ uint32_t *qop, void *iov, int count)`,
      iovName('gss_unwrap_iov'),
    ),
    wrap_iov_length: required(
      `uint32_t ${iovName('gss_wrap_iov_length')}(_Out_ uint32_t *minor, void *ctx, int conf, uint32_t qop, _Out_ int *confState, void *iov, int count)`,
      iovName('gss_wrap_iov_length'),
    ),
  };

  const oids = new Map<OidName, bigint>();
  const sets = new Map<OidName, bigint>();
  const oidPtr = (name: OidName): bigint => {
    let p = oids.get(name);
    if (p === undefined) {
      const der = Buffer.from(OIDS[name], 'hex');
      const elements = koffi.alloc('uint8_t', der.length);
      new Uint8Array(koffi.view(elements, der.length)).set(der);
      p = koffi.alloc(oid, 1);
      koffi.encode(p, oid, { length: der.length, elements });
      oids.set(name, p);
    }
    return p;
  };
  const oidSetPtr = (name: OidName): bigint => {
    let p = sets.get(name);
    if (p === undefined) {
      p = koffi.alloc(oidSet, 1);
      koffi.encode(p, oidSet, { count: 1, elements: oidPtr(name) });
      sets.set(name, p);
    }
    return p;
  };
  return {
    koffi,
    library,
    apple,
    types: { buffer, oid, oidSet, channelBindings, iov },
    oid: oidPtr,
    oidSet: oidSetPtr,
    f,
  };
}
