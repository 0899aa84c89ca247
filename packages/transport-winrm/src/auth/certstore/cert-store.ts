import { randomBytes, X509Certificate } from 'node:crypto';
import { ClientCertificateError } from '../client-certificate-error.ts';
import { CRYPT_ERRORS, CRYPT32, type Crypt32Ffi } from './crypt32-ffi.ts';

/**
 * -CertificateThumbprint on Windows: the certificate is looked up by its SHA-1 hash in the user's "MY" store
 * (Cert:\CurrentUser\My, the store the WinRM client searches), opened read-only. For the handshake it is exported
 * with its private key as PKCS#12 under a random one-time password, through an in-memory store holding that one
 * certificate: Node's TLS reads a key only as bytes, so a key Windows will not export (marked non-exportable, or on
 * a smart card or in a TPM) cannot be used by psremote, and the error says so.
 *
 * Every handle and buffer is released on every path: the store (CertCloseStore), the found context
 * (CertFreeCertificateContext), the native copies of the hash, the password and the PFX (wiped first).
 */

/** Where the WinRM client looks, as PowerShell's certificate provider names it. */
export const USER_STORE = 'Cert:\\CurrentUser\\My';
/** A PFX of one certificate and its key is a few KiB; anything near this is not what was asked for. */
const MAX_PFX_BYTES = 1024 * 1024;

function hex(code: number): string {
  return `0x${(code >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

type Ptr = bigint | null;

/** Native bytes, wiped and freed by `release`. */
function nativeBytes(ffi: Crypt32Ffi, bytes: Uint8Array): { ptr: bigint; release(): void } {
  const ptr = ffi.koffi.alloc('uint8_t', Math.max(bytes.length, 1));
  new Uint8Array(ffi.koffi.view(ptr, bytes.length)).set(bytes);
  return {
    ptr,
    release() {
      new Uint8Array(ffi.koffi.view(ptr, bytes.length)).fill(0);
      ffi.koffi.free(ptr);
    },
  };
}

/** A NUL-terminated UTF-16LE string in native memory (LPCWSTR). */
function nativeWide(ffi: Crypt32Ffi, text: string): { ptr: bigint; release(): void } {
  const b = Buffer.from(`${text}\0`, 'utf16le');
  try {
    return nativeBytes(ffi, b);
  } finally {
    b.fill(0);
  }
}

/** Opens Cert:\CurrentUser\My read-only, runs `use` on the certificate with this thumbprint, then frees both. */
function withStoreCertificate<T>(ffi: Crypt32Ffi, thumbprint: string, use: (context: bigint) => T): T {
  const { f, koffi, types } = ffi;
  const flags =
    CRYPT32.CERT_SYSTEM_STORE_CURRENT_USER |
    CRYPT32.CERT_STORE_READONLY_FLAG |
    CRYPT32.CERT_STORE_OPEN_EXISTING_FLAG;
  const store = f.CertOpenStore(CRYPT32.CERT_STORE_PROV_SYSTEM_W, 0, 0, flags, 'MY') as unknown as Ptr;
  if (!store) {
    const err = f.GetLastError() >>> 0;
    throw new ClientCertificateError(
      'NotFound',
      `No certificate with thumbprint ${thumbprint} was found: the certificate store ${USER_STORE} cannot be opened (${err === CRYPT_ERRORS.ERROR_FILE_NOT_FOUND ? 'it does not exist' : `error ${hex(err)}`}).`,
    );
  }
  try {
    const hash = nativeBytes(ffi, Buffer.from(thumbprint, 'hex'));
    let blob: bigint | undefined;
    let context: Ptr = null;
    let err = 0;
    try {
      blob = koffi.alloc(types.blob, 1);
      koffi.encode(blob, types.blob, { cbData: 20, pbData: hash.ptr });
      context = f.CertFindCertificateInStore(
        store,
        CRYPT32.X509_ASN_ENCODING | CRYPT32.PKCS_7_ASN_ENCODING,
        0,
        CRYPT32.CERT_FIND_SHA1_HASH,
        blob,
        null,
      ) as unknown as Ptr;
      if (!context) err = f.GetLastError() >>> 0;
    } finally {
      if (blob !== undefined) koffi.free(blob);
      hash.release();
    }
    if (!context)
      throw new ClientCertificateError(
        'NotFound',
        err === CRYPT_ERRORS.CRYPT_E_NOT_FOUND || err === 0
          ? `No certificate with thumbprint ${thumbprint} was found in ${USER_STORE}. Import it with its private key (Import-PfxCertificate -CertStoreLocation ${USER_STORE}), or set PSREMOTE_CERT_DIR to a directory of PEM files.`
          : `No certificate with thumbprint ${thumbprint} could be read from ${USER_STORE} (error ${hex(err)}).`,
      );
    try {
      return use(context);
    } finally {
      f.CertFreeCertificateContext(context);
    }
  } finally {
    f.CertCloseStore(store, 0);
  }
}

/** The DER of a CERT_CONTEXT's certificate, copied out of native memory. */
function contextCertificate(ffi: Crypt32Ffi, context: bigint): X509Certificate {
  const c = ffi.koffi.decode(context, ffi.types.certContext);
  const n = Number(c.cbCertEncoded);
  const at = c.pbCertEncoded as Ptr;
  if (!at || n <= 0 || n > MAX_PFX_BYTES)
    throw new ClientCertificateError(
      'KeyUnreadable',
      `The certificate store returned no certificate (${n} bytes).`,
    );
  return new X509Certificate(Buffer.from(new Uint8Array(ffi.koffi.view(at, n)).slice()));
}

function thumbprintOf(cert: X509Certificate): string {
  return cert.fingerprint.replace(/:/g, '').toUpperCase();
}

/** The certificate with this thumbprint (40 upper-case hex digits) in Cert:\CurrentUser\My. */
export function findInUserStore(ffi: Crypt32Ffi, thumbprint: string): X509Certificate {
  return withStoreCertificate(ffi, thumbprint, (context) => {
    const cert = contextCertificate(ffi, context);
    // CERT_FIND_SHA1_HASH compares the hash crypt32 keeps for the certificate: checked against the bytes themselves.
    if (thumbprintOf(cert) !== thumbprint)
      throw new ClientCertificateError(
        'CertificateChanged',
        `The certificate store returned a certificate whose thumbprint is ${thumbprintOf(cert)}, not ${thumbprint}.`,
      );
    return cert;
  });
}

/** A PKCS#12 of the certificate and its key, for Node's TLS (`pfx`); the caller wipes `pfx` once it is used. */
export interface ExportedCertificate {
  readonly certificate: X509Certificate;
  readonly pfx: Buffer;
  /** The random one-time password of `pfx` (a JS string cannot be wiped: drop it once used). */
  readonly passphrase: string;
}

const NO_KEY: readonly number[] = [CRYPT_ERRORS.CRYPT_E_NOT_FOUND, CRYPT_ERRORS.NTE_NO_KEY];
const NOT_EXPORTABLE: readonly number[] = [
  CRYPT_ERRORS.NTE_BAD_KEY,
  CRYPT_ERRORS.NTE_BAD_KEY_STATE,
  CRYPT_ERRORS.NTE_PERM,
  CRYPT_ERRORS.NTE_NOT_SUPPORTED,
];
/**
 * What a Windows that does not know PKCS12_EXPORT_PBES2_PARAMS may answer to it (undocumented: the flag is not asked
 * of a build known to predate it, and any of these answers is taken to mean the same).
 */
const PBES2_UNKNOWN: readonly number[] = [
  CRYPT_ERRORS.NTE_BAD_FLAGS,
  CRYPT_ERRORS.E_INVALIDARG,
  CRYPT_ERRORS.ERROR_INVALID_PARAMETER,
  CRYPT_ERRORS.ERROR_INVALID_FLAGS,
];

function exportFailure(thumbprint: string, err: number): ClientCertificateError {
  if (NO_KEY.includes(err))
    return new ClientCertificateError(
      'NoPrivateKey',
      `The certificate with thumbprint ${thumbprint} in ${USER_STORE} has no private key. Import the certificate with its key (a .pfx: Import-PfxCertificate -CertStoreLocation ${USER_STORE}).`,
    );
  if (NOT_EXPORTABLE.includes(err))
    return new ClientCertificateError(
      'KeyNotExportable',
      `The private key of the certificate with thumbprint ${thumbprint} in ${USER_STORE} cannot be exported (error ${hex(err)}). psremote hands the key to Node's TLS, which can only use a key it can read: a key marked non-exportable, or kept on a smart card or in a TPM, cannot be used by psremote. Check the key with: certutil -user -store My ${thumbprint}. Import the certificate again from its .pfx with -Exportable, or set PSREMOTE_CERT_DIR to a directory holding the certificate and its key as PEM files.`,
    );
  return new ClientCertificateError(
    'KeyUnreadable',
    `The certificate with thumbprint ${thumbprint} in ${USER_STORE} could not be exported with its private key (error ${hex(err)}).`,
  );
}

/**
 * Exports the certificate with this thumbprint and its private key from Cert:\CurrentUser\My as PKCS#12: AES-256 and
 * SHA-256 where Windows offers it (10 1709 and later; Node's OpenSSL 3 reads it), Windows' default otherwise.
 */
export function exportFromUserStore(ffi: Crypt32Ffi, thumbprint: string): ExportedCertificate {
  const { f, koffi, types } = ffi;
  return withStoreCertificate(ffi, thumbprint, (context) => {
    const certificate = contextCertificate(ffi, context);
    if (thumbprintOf(certificate) !== thumbprint)
      throw new ClientCertificateError(
        'CertificateChanged',
        `The certificate store returned a certificate whose thumbprint is ${thumbprintOf(certificate)}, not ${thumbprint}.`,
      );
    const memory = f.CertOpenStore(CRYPT32.CERT_STORE_PROV_MEMORY, 0, 0, 0, null) as unknown as Ptr;
    if (!memory)
      throw new ClientCertificateError(
        'KeyUnreadable',
        `An in-memory certificate store could not be created (error ${hex(f.GetLastError())}).`,
      );
    const passphrase = randomBytes(24).toString('base64url');
    // Each allocation inside the try: one that fails still frees the others and closes the store.
    let password: { ptr: bigint; release(): void } | undefined;
    let algorithm: { ptr: bigint; release(): void } | undefined;
    let params: bigint | undefined;
    let blob: bigint | undefined;
    let data: { ptr: bigint; release(): void } | undefined;
    try {
      password = nativeWide(ffi, passphrase);
      algorithm = nativeWide(ffi, CRYPT32.PKCS12_PBES2_ALG_AES256_SHA256);
      params = koffi.alloc(types.pbes2Params, 1);
      blob = koffi.alloc(types.blob, 1);
      const pw = password.ptr;
      const out = blob;
      if (!f.CertAddCertificateContextToStore(memory, context, CRYPT32.CERT_STORE_ADD_ALWAYS, null))
        throw new ClientCertificateError(
          'KeyUnreadable',
          `The certificate with thumbprint ${thumbprint} could not be copied for export (error ${hex(f.GetLastError())}).`,
        );
      koffi.encode(params, types.pbes2Params, {
        dwSize: koffi.sizeof(types.pbes2Params),
        hNcryptDescriptor: null,
        pwszPbes2Alg: algorithm.ptr,
      });
      const base =
        CRYPT32.EXPORT_PRIVATE_KEYS |
        CRYPT32.REPORT_NO_PRIVATE_KEY |
        CRYPT32.REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY;
      // Windows 10 1709 (build 16299) and later know the flag; an earlier build is not asked (as .NET decides).
      const pbes2 = ffi.windowsBuild === undefined || ffi.windowsBuild >= CRYPT32.PBES2_FIRST_BUILD;
      let flags = pbes2 ? base | CRYPT32.PKCS12_EXPORT_PBES2_PARAMS : base;
      let para: Ptr = pbes2 ? params : null;
      const exportInto = (pbData: Ptr, cbData: number): number => {
        koffi.encode(out, types.blob, { cbData, pbData });
        return f.PFXExportCertStoreEx(memory, out, pw, para, flags) ? 0 : f.GetLastError() >>> 0 || 1;
      };
      // First call: the size (pbData NULL).
      let err = exportInto(null, 0);
      if (err !== 0 && pbes2 && PBES2_UNKNOWN.includes(err)) {
        flags = base;
        para = null;
        err = exportInto(null, 0);
      }
      if (err !== 0) throw exportFailure(thumbprint, err);
      const size = Number(koffi.decode(blob, types.blob).cbData);
      if (size <= 0 || size > MAX_PFX_BYTES)
        throw new ClientCertificateError(
          'KeyUnreadable',
          `The certificate with thumbprint ${thumbprint} exported as ${size} bytes of PKCS#12.`,
        );
      data = nativeBytes(ffi, new Uint8Array(size));
      err = exportInto(data.ptr, size);
      if (err !== 0) throw exportFailure(thumbprint, err);
      const written = Number(koffi.decode(blob, types.blob).cbData);
      if (written <= 0 || written > size)
        throw new ClientCertificateError(
          'KeyUnreadable',
          `The certificate with thumbprint ${thumbprint} exported as ${written} bytes of PKCS#12 in a buffer of ${size}.`,
        );
      // Buffer.alloc: not from Node's shared pool, so wiping it wipes the only copy.
      const pfx = Buffer.alloc(written);
      pfx.set(new Uint8Array(koffi.view(data.ptr, written)));
      return { certificate, pfx, passphrase };
    } finally {
      data?.release();
      if (blob !== undefined) koffi.free(blob);
      if (params !== undefined) koffi.free(params);
      algorithm?.release();
      password?.release();
      f.CertCloseStore(memory, 0);
    }
  });
}
