import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  CRYPT_ERRORS,
  CRYPT32,
  CRYPT32_SIGNATURES,
  Crypt32UnavailableError,
  crypt32Types,
  loadCrypt32,
  windowsBuildOf,
} from './crypt32-ffi.ts';

// Every number psremote hands to crypt32.dll or reads from it, pinned against the Windows SDK's wincrypt.h and
// winerror.h as Microsoft documents them. No Windows machine runs these tests, so a wrong value here would only show
// on the first real lookup. Sources (learn.microsoft.com/windows/win32/api/wincrypt/):
//   CertOpenStore                  nf-wincrypt-certopenstore (CERT_STORE_PROV_*, CERT_SYSTEM_STORE_*, CERT_STORE_*_FLAG)
//   CertFindCertificateInStore     nf-wincrypt-certfindcertificateinstore (CERT_FIND_SHA1_HASH, encoding types)
//   CertAddCertificateContextToStore nf-wincrypt-certaddcertificatecontexttostore (CERT_STORE_ADD_ALWAYS)
//   PFXExportCertStoreEx           nf-wincrypt-pfxexportcertstoreex (EXPORT_PRIVATE_KEYS, REPORT_*, the errors of each)
//   PKCS12_PBES2_EXPORT_PARAMS     ns-wincrypt-pkcs12_pbes2_export_params (Windows 10 1709, AES256-SHA256)
//   CERT_CONTEXT                   ns-wincrypt-cert_context
//   CRYPT_INTEGER_BLOB             ns-wincrypt-crypt_integer_blob
//   NTE_* / CRYPT_E_* / E_*        winerror.h; [MS-ERREF] 2.1.1 HRESULT Values

describe('wincrypt.h constants', () => {
  it('CertOpenStore: the store providers are integers cast to LPCSTR: MEMORY 2, SYSTEM_W 10', () => {
    expect(CRYPT32.CERT_STORE_PROV_MEMORY).toBe(2);
    expect(CRYPT32.CERT_STORE_PROV_SYSTEM_W).toBe(10);
  });

  it('CertOpenStore flags: CURRENT_USER is location id 1 << 16; READONLY 0x8000; OPEN_EXISTING 0x4000', () => {
    expect(CRYPT32.CERT_SYSTEM_STORE_CURRENT_USER).toBe(1 << 16);
    expect(CRYPT32.CERT_STORE_READONLY_FLAG).toBe(0x8000);
    expect(CRYPT32.CERT_STORE_OPEN_EXISTING_FLAG).toBe(0x4000);
  });

  it('encodings: X509_ASN_ENCODING 1, PKCS_7_ASN_ENCODING 0x10000', () => {
    expect(CRYPT32.X509_ASN_ENCODING).toBe(0x1);
    expect(CRYPT32.PKCS_7_ASN_ENCODING).toBe(0x10000);
  });

  it('CERT_FIND_SHA1_HASH = CERT_COMPARE_SHA1_HASH (1) << CERT_COMPARE_SHIFT (16); CERT_STORE_ADD_ALWAYS 4', () => {
    expect(CRYPT32.CERT_FIND_SHA1_HASH).toBe(1 << 16);
    expect(CRYPT32.CERT_STORE_ADD_ALWAYS).toBe(4);
  });

  it('PFXExportCertStoreEx flags, and the PBES2 algorithm name', () => {
    expect({
      REPORT_NO_PRIVATE_KEY: CRYPT32.REPORT_NO_PRIVATE_KEY,
      REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY: CRYPT32.REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY,
      EXPORT_PRIVATE_KEYS: CRYPT32.EXPORT_PRIVATE_KEYS,
      PKCS12_EXPORT_PBES2_PARAMS: CRYPT32.PKCS12_EXPORT_PBES2_PARAMS,
    }).toEqual({
      REPORT_NO_PRIVATE_KEY: 0x1,
      REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY: 0x2,
      EXPORT_PRIVATE_KEYS: 0x4,
      PKCS12_EXPORT_PBES2_PARAMS: 0x80,
    });
    expect(CRYPT32.PKCS12_PBES2_ALG_AES256_SHA256).toBe('AES256-SHA256');
    // Windows 10 1709 is 10.0.16299 (the version .NET checks before asking for PBES2).
    expect(CRYPT32.PBES2_FIRST_BUILD).toBe(16299);
  });

  it('the winerror.h codes read back from GetLastError', () => {
    expect(CRYPT_ERRORS).toEqual({
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
    });
  });
});

// koffi runs here (Linux); the structs are declared with explicit widths, so their layout is the one 64-bit Windows
// (x64, arm64: LLP64) has: DWORD 4 bytes, pointers 8, each pointer aligned to 8.
const koffi = createRequire(import.meta.url)('koffi') as {
  sizeof(t: unknown): number;
  offsetof(t: unknown, member: string): number;
  alignof(t: unknown): number;
};
const types = crypt32Types(koffi as never);
const layout = (t: unknown, members: string[]) => ({
  size: koffi.sizeof(t),
  offsets: Object.fromEntries(members.map((m) => [m, koffi.offsetof(t, m)])),
});

describe('wincrypt.h struct layouts for 64-bit Windows', () => {
  it('CRYPT_INTEGER_BLOB (CRYPT_HASH_BLOB, CRYPT_DATA_BLOB): DWORD, BYTE*: 16 bytes, pbData at 8', () => {
    expect(layout(types.blob, ['cbData', 'pbData'])).toEqual({ size: 16, offsets: { cbData: 0, pbData: 8 } });
  });

  it('CERT_CONTEXT: DWORD, BYTE*, DWORD, PCERT_INFO, HCERTSTORE: 40 bytes', () => {
    expect(
      layout(types.certContext, [
        'dwCertEncodingType',
        'pbCertEncoded',
        'cbCertEncoded',
        'pCertInfo',
        'hCertStore',
      ]),
    ).toEqual({
      size: 40,
      offsets: { dwCertEncodingType: 0, pbCertEncoded: 8, cbCertEncoded: 16, pCertInfo: 24, hCertStore: 32 },
    });
    expect(koffi.alignof(types.certContext)).toBe(8);
  });

  it('PKCS12_PBES2_EXPORT_PARAMS: DWORD, PVOID, LPWSTR: 24 bytes (dwSize holds this)', () => {
    expect(layout(types.pbes2Params, ['dwSize', 'hNcryptDescriptor', 'pwszPbes2Alg'])).toEqual({
      size: 24,
      offsets: { dwSize: 0, hNcryptDescriptor: 8, pwszPbes2Alg: 16 },
    });
  });
});

describe('the declarations', () => {
  it('each function with the parameter count of its prototype, BOOL as a 32-bit int, pointers void *', () => {
    const params = (sig: string) => {
      const inner = sig.slice(sig.indexOf('(') + 1, sig.lastIndexOf(')')).trim();
      return inner === '' ? 0 : inner.split(',').length;
    };
    expect(Object.fromEntries(Object.entries(CRYPT32_SIGNATURES).map(([k, v]) => [k, params(v)]))).toEqual({
      CertOpenStore: 5,
      CertFindCertificateInStore: 6,
      CertAddCertificateContextToStore: 4,
      PFXExportCertStoreEx: 5,
      CertFreeCertificateContext: 1,
      CertCloseStore: 2,
      GetLastError: 0,
    });
    expect(CRYPT32_SIGNATURES.CertOpenStore.startsWith('void *CertOpenStore(uintptr_t')).toBe(true);
    expect(CRYPT32_SIGNATURES.PFXExportCertStoreEx.startsWith('int ')).toBe(true);
    // The password goes as memory psremote wipes, never as a string koffi would copy.
    expect(CRYPT32_SIGNATURES.PFXExportCertStoreEx).toContain('void *password');
  });

  it('binds with koffi: every declaration parses (against a library that has none of them: "has no")', () => {
    // On Linux the declarations cannot be bound to crypt32, but koffi parses each one before looking the symbol up.
    const k = createRequire(import.meta.url)('koffi') as { load(p: string): { func(s: string): unknown } };
    const libc = k.load('libc.so.6');
    for (const sig of Object.values(CRYPT32_SIGNATURES))
      expect(() => libc.func(sig)).toThrow(/Cannot find function|symbol/i);
  });
});

describe('loadCrypt32', () => {
  it('the Windows build from the OS release (os.release() is 10.0.<build> on Windows 10 and 11)', () => {
    expect(windowsBuildOf('10.0.14393')).toBe(14393);
    expect(windowsBuildOf('10.0.26100')).toBe(26100);
    expect(windowsBuildOf('6.3.9600')).toBeUndefined();
    expect(windowsBuildOf('6.11.0-1018-azure')).toBeUndefined();
    expect(windowsBuildOf(undefined)).toBeUndefined();
    const f = {} as never;
    expect(loadCrypt32({ functions: f, release: '10.0.17763' }).windowsBuild).toBe(17763);
    expect(loadCrypt32({ functions: f })).not.toHaveProperty('windowsBuild');
  });

  it('off Windows: Crypt32UnavailableError, saying the store exists only on Windows', () => {
    expect(() => loadCrypt32({ platform: 'linux' })).toThrow(Crypt32UnavailableError);
    expect(() => loadCrypt32({ platform: 'linux' })).toThrow(
      'The Windows certificate store exists only on Windows.',
    );
  });

  it('32-bit Windows: not implemented, said so', () => {
    expect(() => loadCrypt32({ platform: 'win32', arch: 'ia32' })).toThrow(
      'Reading the certificate store is implemented for 64-bit Windows (x64, arm64), not ia32.',
    );
  });

  it('Windows without the DLL: names the path it tried', () => {
    expect(() =>
      loadCrypt32({ platform: 'win32', arch: 'x64', library: '/nonexistent/crypt32.dll' }),
    ).toThrow(/needs \/nonexistent\/crypt32\.dll, and it could not be loaded/);
  });

  it('without koffi: names the package', () => {
    expect(() => loadCrypt32({ koffiModule: 'koffi-that-is-not-installed' })).toThrow(
      /needs the koffi package .* could not be loaded/,
    );
  });
});
