import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CRYPT_ERRORS,
  CRYPT32,
  type Crypt32Ffi,
  type Crypt32Functions,
  crypt32Types,
  loadCrypt32,
} from '../../src/auth/certstore/crypt32-ffi.ts';
import type { KoffiFunction } from '../../src/auth/gssapi/gss-ffi.ts';

/**
 * A stand-in for crypt32.dll (and kernel32's GetLastError) written in JavaScript: the wincrypt.h contract psremote
 * relies on (CertOpenStore of the CURRENT_USER "MY" system store and of an in-memory store, CertFindCertificateInStore
 * by a CRYPT_HASH_BLOB in native memory returning a CERT_CONTEXT laid out as Windows lays it out, the two-call
 * PFXExportCertStoreEx with a NUL-terminated UTF-16 password, the failures documented for REPORT_NO_PRIVATE_KEY and
 * REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY, GetLastError) over REAL certificates. The PKCS#12 is made by the real
 * `openssl pkcs12 -export`, so the PFX psremote hands Node's TLS comes from an independent producer.
 *
 * What it cannot show: that Windows itself behaves like this (its PBE defaults, which keys it refuses to export).
 */

const koffi = createRequire(import.meta.url)('koffi') as {
  alloc(type: unknown, n: number): bigint;
  free(p: bigint): void;
  encode(p: bigint, type: unknown, value: unknown): void;
  decode(p: bigint, type: unknown): Record<string, unknown>;
  view(p: bigint, n: number): ArrayBuffer;
  sizeof(type: unknown): number;
};
const T = crypt32Types(koffi as never);

type Windows = 'pbes2' | '3des' | 'rc2' | 'rc2-key';

/** A certificate in the fake "MY" store. */
export interface FakeStoreCertificate {
  /** The certificate, PEM. */
  readonly certPem: string;
  /** Its private key, PEM; absent: a certificate without a key (imported from a .cer). */
  readonly keyPem?: string;
  /** False: the key is marked non-exportable (what a smart card or TPM key also answers). Default true. */
  readonly exportable?: boolean;
}

export interface FakeCrypt32Options {
  readonly certificates: readonly FakeStoreCertificate[];
  /**
   * How PFXExportCertStoreEx encrypts: `pbes2` (Windows 10 1709 and later: PKCS12_EXPORT_PBES2_PARAMS accepted,
   * AES-256-CBC and SHA-256), `3des` (an older Windows that refuses that flag with NTE_BAD_FLAGS and exports with
   * TripleDES-SHA1: kinder than Windows, whose default encrypts the certificates with RC2-40), `rc2` (as `3des`, but
   * the certificates under RC2-40, which OpenSSL 3 reads only with its legacy provider, and the key under TripleDES:
   * Windows' default before 10 1709), `rc2-key` (as `rc2` with the key under RC2-40 too: no Windows default, a PFX
   * Node can read nothing of). Default `pbes2`.
   */
  readonly windows?: Windows;
  /** What a Windows without PBES2 export answers to PKCS12_EXPORT_PBES2_PARAMS (undocumented); default NTE_BAD_FLAGS. */
  readonly unknownFlagError?: number;
  /** The OS release the loader reports (`10.0.14393`); default none (the build is then unknown). */
  readonly release?: string;
  /** CertOpenStore of "MY" fails as for a user without a profile (ERROR_FILE_NOT_FOUND). */
  readonly noUserStore?: boolean;
  /** Failures to inject (the GetLastError code each returns): the in-memory store, the copy into it, the export. */
  readonly failures?: { readonly memoryStore?: number; readonly add?: number; readonly export?: number };
}

export interface FakeCrypt32 {
  readonly functions: Crypt32Functions;
  /** The loader psremote takes (`crypt32` options): loadCrypt32 over these functions. */
  readonly load: () => Crypt32Ffi;
  /** Every call by name, in order. */
  readonly calls: string[];
  /** Store handles and certificate contexts not released yet. */
  live(): { stores: number; contexts: number };
  /** What each PFXExportCertStoreEx call was given (flags, the PBES2 algorithm, the password's length). */
  readonly exports: { flags: number; pbes2Alg: string | null; passwordLength: number; size: boolean }[];
  /** The PKCS#12 files openssl made, one per successful export call (the consumer must read the last call's). */
  readonly pfxMade: Buffer[];
}

interface Store {
  readonly kind: 'system' | 'memory';
  readonly certs: FakeStoreCertificate[];
}

interface Context {
  readonly cert: FakeStoreCertificate;
  readonly der: bigint;
}

function readWideZ(ptr: bigint | null): string {
  if (!ptr) return '';
  let s = '';
  for (let i = 0; i < 1024; i++) {
    const c = new Uint16Array(koffi.view(ptr + BigInt(i * 2), 2))[0] ?? 0;
    if (c === 0) return s;
    s += String.fromCharCode(c);
  }
  throw new Error('unterminated wide string');
}

function derOf(c: FakeStoreCertificate): Buffer {
  return new X509Certificate(c.certPem).raw;
}

/** The real openssl's PKCS#12 of one certificate and key. */
function opensslPkcs12(c: FakeStoreCertificate, password: string, windows: Windows): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'psremote-fake-crypt32-'));
  try {
    writeFileSync(join(dir, 'cert.pem'), c.certPem, { mode: 0o600 });
    writeFileSync(join(dir, 'key.pem'), c.keyPem ?? '', { mode: 0o600 });
    const algs =
      windows === 'pbes2'
        ? ['-keypbe', 'AES-256-CBC', '-certpbe', 'AES-256-CBC', '-macalg', 'sha256']
        : windows === '3des'
          ? ['-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']
          : windows === 'rc2'
            ? ['-legacy']
            : ['-legacy', '-keypbe', 'PBE-SHA1-RC2-40'];
    return execFileSync(
      'openssl',
      [
        'pkcs12',
        '-export',
        '-in',
        join(dir, 'cert.pem'),
        '-inkey',
        join(dir, 'key.pem'),
        '-passout',
        'env:FAKE_CRYPT32_PFX_PASSWORD',
        ...algs,
      ],
      { env: { ...process.env, FAKE_CRYPT32_PFX_PASSWORD: password }, timeout: 30_000, maxBuffer: 1 << 20 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function fakeCrypt32(options: FakeCrypt32Options): FakeCrypt32 {
  const windows = options.windows ?? 'pbes2';
  const stores = new Map<bigint, Store>();
  const contexts = new Map<bigint, Context>();
  const calls: string[] = [];
  const exports: FakeCrypt32['exports'] = [];
  const pfxMade: Buffer[] = [];
  let lastError = 0;
  /** A BOOL function's failure: FALSE, the code for GetLastError. */
  const fail = (code: number) => {
    lastError = code;
    return 0;
  };
  /** A pointer function's failure: NULL, the code for GetLastError. */
  const none = (code: number) => {
    lastError = code;
    return null;
  };

  const fn = (name: string, impl: (...a: never[]) => unknown): KoffiFunction => {
    const f = ((...args: unknown[]) => {
      calls.push(name);
      return impl(...(args as never[]));
    }) as KoffiFunction;
    f.async = () => {
      throw new Error(`${name} is called synchronously`);
    };
    return f;
  };
  const storeOf = (p: bigint | null): Store => {
    const s = p ? stores.get(p) : undefined;
    if (!s) throw new Error('not a live HCERTSTORE');
    return s;
  };

  const functions: Crypt32Functions = {
    CertOpenStore: fn(
      'CertOpenStore',
      (
        provider: number | bigint,
        encoding: number,
        prov: number | bigint,
        flags: number,
        para: string | null,
      ) => {
        if (Number(prov) !== 0 || encoding !== 0) return none(CRYPT_ERRORS.E_INVALIDARG);
        let store: Store;
        if (Number(provider) === CRYPT32.CERT_STORE_PROV_SYSTEM_W) {
          // Only what psremote must ask for: the user's store, read-only, not created when missing.
          const want =
            CRYPT32.CERT_SYSTEM_STORE_CURRENT_USER |
            CRYPT32.CERT_STORE_READONLY_FLAG |
            CRYPT32.CERT_STORE_OPEN_EXISTING_FLAG;
          if (flags !== want || para?.toUpperCase() !== 'MY') return none(CRYPT_ERRORS.E_INVALIDARG);
          if (options.noUserStore) return none(CRYPT_ERRORS.ERROR_FILE_NOT_FOUND);
          store = { kind: 'system', certs: [...options.certificates] };
        } else if (Number(provider) === CRYPT32.CERT_STORE_PROV_MEMORY) {
          if (para !== null) return none(CRYPT_ERRORS.E_INVALIDARG);
          if (options.failures?.memoryStore) return none(options.failures.memoryStore);
          store = { kind: 'memory', certs: [] };
        } else return none(CRYPT_ERRORS.E_INVALIDARG);
        const h = koffi.alloc('uint8_t', 8);
        stores.set(h, store);
        return h;
      },
    ),

    CertFindCertificateInStore: fn(
      'CertFindCertificateInStore',
      (
        store: bigint | null,
        encoding: number,
        findFlags: number,
        findType: number,
        para: bigint | null,
        prev: bigint | null,
      ) => {
        const s = storeOf(store);
        if (encoding !== (CRYPT32.X509_ASN_ENCODING | CRYPT32.PKCS_7_ASN_ENCODING) || findFlags !== 0)
          return none(CRYPT_ERRORS.E_INVALIDARG);
        if (findType !== CRYPT32.CERT_FIND_SHA1_HASH || !para || prev !== null)
          return none(CRYPT_ERRORS.E_INVALIDARG);
        const blob = koffi.decode(para, T.blob);
        const n = Number(blob.cbData);
        const hash =
          n > 0 && blob.pbData ? Buffer.from(koffi.view(blob.pbData as bigint, n)).toString('hex') : '';
        const cert = s.certs.find((c) => createHash('sha1').update(derOf(c)).digest('hex') === hash);
        if (!cert) return none(CRYPT_ERRORS.CRYPT_E_NOT_FOUND);
        const der = derOf(cert);
        const bytes = koffi.alloc('uint8_t', der.length);
        new Uint8Array(koffi.view(bytes, der.length)).set(der);
        const ctx = koffi.alloc(T.certContext, 1);
        koffi.encode(ctx, T.certContext, {
          dwCertEncodingType: CRYPT32.X509_ASN_ENCODING,
          pbCertEncoded: bytes,
          cbCertEncoded: der.length,
          pCertInfo: null,
          hCertStore: store,
        });
        contexts.set(ctx, { cert, der: bytes });
        return ctx;
      },
    ),

    CertAddCertificateContextToStore: fn(
      'CertAddCertificateContextToStore',
      (store: bigint | null, ctx: bigint | null, disposition: number, out: bigint | null) => {
        const s = storeOf(store);
        const c = ctx ? contexts.get(ctx) : undefined;
        if (!c || s.kind !== 'memory' || disposition !== CRYPT32.CERT_STORE_ADD_ALWAYS)
          return fail(CRYPT_ERRORS.E_INVALIDARG);
        // psremote takes no context back (it would have to free it).
        if (out !== null) return fail(CRYPT_ERRORS.E_INVALIDARG);
        if (options.failures?.add) return fail(options.failures.add);
        s.certs.push(c.cert);
        return 1;
      },
    ),

    PFXExportCertStoreEx: fn(
      'PFXExportCertStoreEx',
      (
        store: bigint | null,
        blobPtr: bigint | null,
        passwordPtr: bigint | null,
        para: bigint | null,
        flags: number,
      ) => {
        const s = storeOf(store);
        if (!blobPtr) return fail(CRYPT_ERRORS.E_INVALIDARG);
        const password = readWideZ(passwordPtr);
        const blob = koffi.decode(blobPtr, T.blob);
        const sizeOnly = !blob.pbData;
        let pbes2Alg: string | null = null;
        if (flags & CRYPT32.PKCS12_EXPORT_PBES2_PARAMS) {
          if (!para) return fail(CRYPT_ERRORS.E_INVALIDARG);
          const p = koffi.decode(para, T.pbes2Params);
          if (Number(p.dwSize) !== koffi.sizeof(T.pbes2Params) || p.hNcryptDescriptor)
            return fail(CRYPT_ERRORS.E_INVALIDARG);
          pbes2Alg = readWideZ(p.pwszPbes2Alg as bigint | null);
        } else if (para !== null) return fail(CRYPT_ERRORS.E_INVALIDARG);
        exports.push({ flags, pbes2Alg, passwordLength: password.length, size: sizeOnly });
        if (pbes2Alg !== null) {
          // Before Windows 10 1709 the flag is unknown.
          if (windows !== 'pbes2') return fail(options.unknownFlagError ?? CRYPT_ERRORS.NTE_BAD_FLAGS);
          if (pbes2Alg !== CRYPT32.PKCS12_PBES2_ALG_AES256_SHA256) return fail(CRYPT_ERRORS.E_INVALIDARG);
        }
        if (!(flags & CRYPT32.EXPORT_PRIVATE_KEYS) || s.certs.length !== 1)
          return fail(CRYPT_ERRORS.E_INVALIDARG);
        const cert = s.certs[0] as FakeStoreCertificate;
        if (!cert.keyPem && flags & CRYPT32.REPORT_NO_PRIVATE_KEY) return fail(CRYPT_ERRORS.NTE_NO_KEY);
        if (cert.keyPem && cert.exportable === false && flags & CRYPT32.REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY)
          return fail(CRYPT_ERRORS.NTE_BAD_KEY_STATE);
        if (!cert.keyPem || cert.exportable === false) return fail(CRYPT_ERRORS.E_INVALIDARG);
        if (options.failures?.export) return fail(options.failures.export);
        // As Windows: every call encodes afresh (new salts and IVs), the size call too; only the length is stable.
        const bytes = opensslPkcs12(cert, password, pbes2Alg ? 'pbes2' : windows);
        pfxMade.push(Buffer.from(bytes));
        if (sizeOnly) {
          koffi.encode(blobPtr, T.blob, { cbData: bytes.length, pbData: null });
          return 1;
        }
        if (Number(blob.cbData) < bytes.length) return fail(234); // ERROR_MORE_DATA
        new Uint8Array(koffi.view(blob.pbData as bigint, bytes.length)).set(bytes);
        koffi.encode(blobPtr, T.blob, { cbData: bytes.length, pbData: blob.pbData });
        return 1;
      },
    ),

    CertFreeCertificateContext: fn('CertFreeCertificateContext', (ctx: bigint | null) => {
      if (!ctx) return 1;
      const c = contexts.get(ctx);
      if (!c) throw new Error('CertFreeCertificateContext of a context that is not live (freed twice?)');
      contexts.delete(ctx);
      koffi.free(c.der);
      koffi.free(ctx);
      return 1;
    }),

    CertCloseStore: fn('CertCloseStore', (store: bigint | null, flags: number) => {
      storeOf(store);
      if (flags !== 0) return fail(CRYPT_ERRORS.E_INVALIDARG);
      stores.delete(store as bigint);
      koffi.free(store as bigint);
      return 1;
    }),

    GetLastError: fn('GetLastError', () => lastError >>> 0),
  };

  return {
    functions,
    load: () => loadCrypt32({ functions, ...(options.release ? { release: options.release } : {}) }),
    calls,
    live: () => ({ stores: stores.size, contexts: contexts.size }),
    exports,
    pfxMade,
  };
}
