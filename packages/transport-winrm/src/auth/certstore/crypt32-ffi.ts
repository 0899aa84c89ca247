import { createRequire } from 'node:module';
import { release } from 'node:os';
import type { Koffi, KoffiFunction } from '../gssapi/gss-ffi.ts';
import { systemDll } from '../sspi/sspi-ffi.ts';

/**
 * crypt32.dll (wincrypt.h) bound at run time with koffi, for -CertificateThumbprint on Windows: the certificate is
 * looked up in the user's store (Cert:\CurrentUser\My, where the WinRM client looks) and exported with its private
 * key as PKCS#12 for Node's TLS. Nothing is compiled at install; without koffi or the DLL `loadCrypt32` says why.
 *
 * The same pattern as ../sspi/sspi-ffi.ts: layouts declared with explicit widths for 64-bit Windows (LLP64: DWORD and
 * BOOL are 32 bits, pointers 64), every pointer argument `void *` with its struct laid out by the caller in native
 * memory, so that a JavaScript implementation of the same functions over the same memory can stand in for the DLL
 * (`Crypt32Functions`; test/peer/fake-crypt32.ts).
 */

/** wincrypt.h / winerror.h values (the same on every Windows architecture). */
export const CRYPT32 = {
  /** CertOpenStore lpszStoreProvider: `((LPCSTR) 2)`, an in-memory store. */
  CERT_STORE_PROV_MEMORY: 2,
  /** `((LPCSTR) 10)`: a system store named by a wide string (pvPara). */
  CERT_STORE_PROV_SYSTEM_W: 10,
  X509_ASN_ENCODING: 0x1,
  PKCS_7_ASN_ENCODING: 0x10000,
  /** CERT_SYSTEM_STORE_CURRENT_USER_ID (1) << CERT_SYSTEM_STORE_LOCATION_SHIFT (16). */
  CERT_SYSTEM_STORE_CURRENT_USER: 0x10000,
  CERT_STORE_OPEN_EXISTING_FLAG: 0x4000,
  CERT_STORE_READONLY_FLAG: 0x8000,
  /** CERT_COMPARE_SHA1_HASH (1) << CERT_COMPARE_SHIFT (16). */
  CERT_FIND_SHA1_HASH: 0x10000,
  /** CertAddCertificateContextToStore: add a copy whatever the store holds. */
  CERT_STORE_ADD_ALWAYS: 4,
  /** PFXExportCertStoreEx dwFlags. */
  REPORT_NO_PRIVATE_KEY: 0x1,
  REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY: 0x2,
  EXPORT_PRIVATE_KEYS: 0x4,
  /** pvPara is a PKCS12_PBES2_EXPORT_PARAMS (Windows 10 1709, Windows Server 2019 and later). */
  PKCS12_EXPORT_PBES2_PARAMS: 0x80,
  /** PKCS12_PBES2_ALG_AES256_SHA256: AES-256 for keys and certificates, SHA-256 for the KDF and the MAC. */
  PKCS12_PBES2_ALG_AES256_SHA256: 'AES256-SHA256',
  /** The first Windows build with PKCS12_EXPORT_PBES2_PARAMS: 10.0.16299 (Windows 10 1709). */
  PBES2_FIRST_BUILD: 16299,
} as const;

/** The GetLastError values psremote words (winerror.h; HRESULTs read unsigned). */
export const CRYPT_ERRORS = {
  ERROR_FILE_NOT_FOUND: 2,
  ERROR_ACCESS_DENIED: 5,
  ERROR_INVALID_PARAMETER: 87,
  ERROR_INVALID_FLAGS: 1004,
  E_INVALIDARG: 0x80070057,
  NTE_BAD_KEY: 0x80090003,
  NTE_BAD_FLAGS: 0x80090009,
  NTE_BAD_KEY_STATE: 0x8009000b,
  NTE_NO_KEY: 0x8009000d,
  NTE_PERM: 0x80090010,
  NTE_NOT_SUPPORTED: 0x80090029,
  CRYPT_E_NOT_FOUND: 0x80092004,
} as const;

/**
 * The functions psremote calls, by their DLL names (GetLastError is kernel32's: koffi keeps the thread's last error
 * from being changed by Node or V8 between a call and this). Arguments are what koffi passes for the declarations
 * in `CRYPT32_SIGNATURES`: pointers as bigint (or null), DWORDs as numbers. Pointer results are bigint or null; BOOL
 * results are numbers (0 is FALSE).
 */
export interface Crypt32Functions {
  readonly CertOpenStore: KoffiFunction;
  readonly CertFindCertificateInStore: KoffiFunction;
  readonly CertAddCertificateContextToStore: KoffiFunction;
  readonly PFXExportCertStoreEx: KoffiFunction;
  readonly CertFreeCertificateContext: KoffiFunction;
  readonly CertCloseStore: KoffiFunction;
  readonly GetLastError: KoffiFunction;
}

/** The wincrypt.h structs for 64-bit Windows. */
export interface Crypt32Types {
  /** CRYPT_INTEGER_BLOB (CRYPT_HASH_BLOB, CRYPT_DATA_BLOB): DWORD cbData, BYTE *pbData. 16 bytes. */
  readonly blob: unknown;
  /**
   * CERT_CONTEXT: DWORD dwCertEncodingType, BYTE *pbCertEncoded, DWORD cbCertEncoded, PCERT_INFO pCertInfo,
   * HCERTSTORE hCertStore. 40 bytes.
   */
  readonly certContext: unknown;
  /** PKCS12_PBES2_EXPORT_PARAMS: DWORD dwSize, PVOID hNcryptDescriptor, LPWSTR pwszPbes2Alg. 24 bytes. */
  readonly pbes2Params: unknown;
}

/** One loaded crypt32 (or a stand-in): koffi for memory, the struct types, the functions. */
export interface Crypt32Ffi {
  readonly koffi: Koffi;
  /** For messages: `crypt32.dll`. */
  readonly library: string;
  readonly types: Crypt32Types;
  readonly f: Crypt32Functions;
  /** The Windows build (`10.0.<build>`), when known: what PFXExportCertStoreEx can be asked depends on it. */
  readonly windowsBuild?: number;
}

/** Why the store cannot be read at all (the message says what is missing). */
export class Crypt32UnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'Crypt32UnavailableError';
  }
}

export interface Crypt32LoadOptions {
  /** The koffi module specifier; default `koffi` (tests point it at a missing module). */
  readonly koffiModule?: string;
  /** The DLLs; default crypt32.dll and kernel32.dll from the System32 directory, by full path. */
  readonly library?: string;
  readonly kernel32?: string;
  /** Functions to use instead of the DLLs' (tests): nothing is loaded and the platform is not checked. */
  readonly functions?: Crypt32Functions;
  /** Default process.platform and process.arch (tests). */
  readonly platform?: NodeJS.Platform;
  readonly arch?: string;
  /** The OS release, `10.0.<build>` on Windows; default os.release() (not read for a stand-in unless given). */
  readonly release?: string;
}

/** The build of a Windows release string (`10.0.14393` gives 14393), or undefined for anything else. */
export function windowsBuildOf(text: string | undefined): number | undefined {
  const m = /^10\.0\.(\d+)/.exec(text ?? '');
  return m ? Number(m[1]) : undefined;
}

let typesCache: Crypt32Types | undefined;
const loaded = new Map<string, Crypt32Ffi>();

function requireKoffi(specifier: string): Koffi {
  try {
    const required = createRequire(import.meta.url)(specifier) as { default?: Koffi } & Koffi;
    return required.default ?? required;
  } catch (e) {
    throw new Crypt32UnavailableError(
      `Reading the certificate store needs the koffi package (a prebuilt FFI module, a dependency of @psremote/transport-winrm), and it could not be loaded: ${(e as Error).message.split('\n')[0]}`,
      e,
    );
  }
}

/** The wincrypt.h structs with explicit member types (LLP64). */
export function crypt32Types(koffi: Koffi): Crypt32Types {
  if (typesCache) return typesCache;
  typesCache = {
    blob: koffi.struct('psr_CRYPT_INTEGER_BLOB', { cbData: 'uint32_t', pbData: 'void *' }),
    certContext: koffi.struct('psr_CERT_CONTEXT', {
      dwCertEncodingType: 'uint32_t',
      pbCertEncoded: 'void *',
      cbCertEncoded: 'uint32_t',
      pCertInfo: 'void *',
      hCertStore: 'void *',
    }),
    pbes2Params: koffi.struct('psr_PKCS12_PBES2_EXPORT_PARAMS', {
      dwSize: 'uint32_t',
      hNcryptDescriptor: 'void *',
      pwszPbes2Alg: 'void *',
    }),
  };
  return typesCache;
}

/**
 * The declarations (wincrypt.h). HCERTSTORE and PCCERT_CONTEXT are pointers; the store provider is an integer cast to
 * LPCSTR, so it is declared pointer-sized (uintptr_t); HCRYPTPROV_LEGACY is a ULONG_PTR; BOOL is a 32-bit int. The
 * PFX password is `void *`: psremote writes it into memory it wipes afterwards (a JS string koffi converts could
 * not be). koffi's default ABI is the one x64 and arm64 Windows use (WINAPI differs only on 32-bit x86).
 */
export const CRYPT32_SIGNATURES: Readonly<Record<keyof Crypt32Functions, string>> = {
  CertOpenStore:
    'void *CertOpenStore(uintptr_t storeProvider, uint32_t encodingType, uintptr_t cryptProv, uint32_t flags, const char16_t *para)',
  CertFindCertificateInStore:
    'void *CertFindCertificateInStore(void *store, uint32_t encodingType, uint32_t findFlags, uint32_t findType, void *findPara, void *prevContext)',
  CertAddCertificateContextToStore:
    'int CertAddCertificateContextToStore(void *store, void *context, uint32_t addDisposition, void *storeContext)',
  PFXExportCertStoreEx:
    'int PFXExportCertStoreEx(void *store, void *pfx, void *password, void *para, uint32_t flags)',
  CertFreeCertificateContext: 'int CertFreeCertificateContext(void *context)',
  CertCloseStore: 'int CertCloseStore(void *store, uint32_t flags)',
  GetLastError: 'uint32_t GetLastError()',
};

/**
 * Loads (once) and binds crypt32 and kernel32's GetLastError. Throws Crypt32UnavailableError when koffi or a DLL is
 * missing, or when not on 64-bit Windows (unless `functions` stands in for the DLLs).
 */
export function loadCrypt32(options: Crypt32LoadOptions = {}): Crypt32Ffi {
  const koffi = requireKoffi(options.koffiModule ?? 'koffi');
  if (options.functions) {
    const build = windowsBuildOf(options.release);
    return {
      koffi,
      library: 'crypt32 (stand-in)',
      types: crypt32Types(koffi),
      f: options.functions,
      ...(build === undefined ? {} : { windowsBuild: build }),
    };
  }
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  if (platform !== 'win32')
    throw new Crypt32UnavailableError('The Windows certificate store exists only on Windows.');
  if (arch !== 'x64' && arch !== 'arm64')
    throw new Crypt32UnavailableError(
      `Reading the certificate store is implemented for 64-bit Windows (x64, arm64), not ${arch}.`,
    );
  const crypt32 = options.library ?? systemDll('crypt32.dll');
  const kernel32 = options.kernel32 ?? systemDll('kernel32.dll');
  const cached = loaded.get(crypt32);
  if (cached) return cached;
  const open = (path: string) => {
    try {
      return koffi.load(path);
    } catch (e) {
      throw new Crypt32UnavailableError(
        `Reading the certificate store needs ${path}, and it could not be loaded: ${(e as Error).message.split('\n')[0]}`,
        e,
      );
    }
  };
  const libs = { crypt32: open(crypt32), kernel32: open(kernel32) };
  const bound: Partial<Record<keyof Crypt32Functions, KoffiFunction>> = {};
  for (const [name, sig] of Object.entries(CRYPT32_SIGNATURES) as [keyof Crypt32Functions, string][]) {
    const lib = name === 'GetLastError' ? libs.kernel32 : libs.crypt32;
    try {
      bound[name] = lib.func(sig);
    } catch (e) {
      throw new Crypt32UnavailableError(`${name === 'GetLastError' ? kernel32 : crypt32} has no ${name}.`, e);
    }
  }
  const build = windowsBuildOf(options.release ?? release());
  const ffi: Crypt32Ffi = {
    koffi,
    library: 'crypt32.dll',
    types: crypt32Types(koffi),
    f: bound as Crypt32Functions,
    ...(build === undefined ? {} : { windowsBuild: build }),
  };
  loaded.set(crypt32, ffi);
  return ffi;
}
