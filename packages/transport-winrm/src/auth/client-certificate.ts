import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { type Dir, opendirSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { checkClientCertificate } from './certificate-checks.ts';
import {
  type ExportedCertificate,
  exportFromUserStore,
  findInUserStore,
  USER_STORE,
} from './certstore/cert-store.ts';
import { type Crypt32Ffi, Crypt32UnavailableError, loadCrypt32 } from './certstore/crypt32-ffi.ts';
import { ClientCertificateError } from './client-certificate-error.ts';
import { encryptedKeyCost, MAX_KDF_WORK } from './encrypted-key-cost.ts';
import { type BoundedFile, type PemBlock, pemBlocks, readBoundedFile, type UnreadFile } from './pem-file.ts';

/**
 * `-CertificateThumbprint`. PowerShell hands the thumbprint to the WinRM client, which looks it up in the user's
 * certificate store (Cert:\CurrentUser\My) and presents that certificate in the TLS handshake. psremote does the same
 * on Windows (certstore/cert-store.ts: the certificate and its key exported as PKCS#12 for Node's TLS). Unix has no
 * such store, so there psremote looks in a directory of PEM files instead; so does Windows when PSREMOTE_CERT_DIR is
 * set. Wherever it came from, the certificate is checked before connecting (certificate-checks.ts: its validity
 * dates and its Extended Key Usage). The directory lookup:
 *
 * - the directory: `$PSREMOTE_CERT_DIR`, else `$XDG_CONFIG_HOME/psremote/certs`, else `~/.config/psremote/certs`;
 * - the files looked at: `*.pem`, `*.crt` and `*.cer` directly in it (not below), in name order; the first
 *   CERTIFICATE block of a file is its certificate, any further ones its chain (sent along in the handshake); a
 *   file that is one DER certificate (Export-Certificate's `.cer`) is read too;
 * - the thumbprint: the SHA-1 of the certificate's DER, as Windows shows it;
 * - the private key: a PRIVATE KEY block in the same file, else the file of the same name with `.key`
 *   (`me.pem` + `me.key`); a key file that others can read, or that another user owns, is refused as ssh refuses
 *   one (the check is made on the descriptor the key is read through, at lookup and again at connect); an
 *   encrypted key is asked for its passphrase through the host;
 * - hostile contents are bounded (pem-file.ts): FIFOs, devices and directories are passed over without blocking,
 *   files over 1 MiB are not read, a lookup reads at most LOOKUP_LIMITS (entries, files, bytes) and a file at most
 *   16 certificates.
 */

export { ClientCertificateError, type ClientCertificateFailure } from './client-certificate-error.ts';

/** What the lookup found (paths, never key material). */
export interface ClientCertificateFile {
  /**
   * Windows: the store it was found in (`Cert:\CurrentUser\My`); certFile and keyFile are then its PowerShell path
   * (`Cert:\CurrentUser\My\<thumbprint>`). Absent for a certificate found in a directory.
   */
  readonly store?: typeof USER_STORE;
  /** The thumbprint as Windows writes it: 40 upper-case hexadecimal digits. */
  readonly thumbprint: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The certificate's subject, as Node prints it (`CN=psuser`). */
  readonly subject: string;
  /** The key is encrypted: its passphrase is asked for at connect. */
  readonly encrypted: boolean;
  /** The directory that was searched. */
  readonly directory: string;
}

/** The certificate, its chain and its key, ready for the TLS handshake. */
export interface LoadedClientCertificate {
  readonly file: ClientCertificateFile;
  /** The certificate and its chain, PEM. */
  readonly certPem: string;
  /** The private key, decrypted, held in memory only. */
  readonly key: KeyObject;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The thumbprint as PowerShell accepts it: case does not matter, and spaces (`ab cd ...`, as the Windows
 * certificate dialog shows it) and the invisible left-to-right marks that dialog copies along are dropped.
 * Anything but 40 hex digits afterwards is refused.
 */
export function normalizeThumbprint(input: string): string {
  const t = input.replace(/[\s\u200e\u200f\ufeff]/g, '').toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(t))
    throw new ClientCertificateError(
      'BadThumbprint',
      `The certificate thumbprint "${input}" is not valid: a thumbprint is the certificate's SHA-1 hash, 40 hexadecimal digits (spaces allowed).`,
    );
  return t;
}

/** Where the certificates are looked for (see the module comment). */
export function certificateDirectory(env: Env): string {
  if (env.PSREMOTE_CERT_DIR) return env.PSREMOTE_CERT_DIR;
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(config, 'psremote', 'certs');
}

const CERT_EXTENSIONS = new Set(['.pem', '.crt', '.cer']);
/** A PEM file larger than this is no certificate file: skipped unread. */
const MAX_FILE_BYTES = 1024 * 1024;
/**
 * What one lookup reads at most: directory entries, certificate files, and bytes of them. A directory beyond these
 * is refused with a clear error rather than searched for minutes (it is not a directory of client certificates).
 */
export const LOOKUP_LIMITS = { entries: 10_000, files: 1000, bytes: 32 * 1024 * 1024 } as const;
/** The certificate and its chain: Windows sends the chain up to the root, which is never this long. */
const MAX_CHAIN = 16;
/** Every PEM block a certificate file may need: its certificates and a key, with room to spare. */
const MAX_BLOCKS = MAX_CHAIN + 2;

function thumbprintOf(cert: X509Certificate): string {
  return cert.fingerprint.replace(/:/g, '').toUpperCase();
}

function isKeyBlock(b: PemBlock): boolean {
  return b.label !== 'CERTIFICATE';
}

function isEncryptedKey(keyPem: string): boolean {
  return (
    keyPem.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type:[ \t]*4,ENCRYPTED/.test(keyPem)
  );
}

/**
 * ssh's rule for a private key file (sshkey_perm_ok): owned by the user (or root), and neither group nor others may
 * read or write it. `st` is the fstat of the descriptor the key is read through, so the file checked is the file
 * read. Not checked on Windows, where the mode bits mean nothing.
 */
function checkKeyFile(path: string, st: Stats, platform: NodeJS.Platform): void {
  if (platform === 'win32') return;
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined && st.uid !== uid && st.uid !== 0)
    throw new ClientCertificateError(
      'KeyPermissions',
      `The private key file ${path} belongs to another user (uid ${st.uid}); psremote uses only keys that you own.`,
    );
  const mode = st.mode & 0o777;
  if (mode & 0o077)
    throw new ClientCertificateError(
      'KeyPermissions',
      `Permissions 0${mode.toString(8)} for the private key file ${path} are too open: it must not be accessible by others. Run: chmod 600 '${path}'`,
    );
}

function unreadable(r: UnreadFile): string {
  if (r.reason === 'tooLarge') return `it is larger than ${MAX_FILE_BYTES} bytes`;
  if (r.reason === 'notFile') return `it is not a regular file (${r.detail})`;
  return r.detail === 'ENOENT' ? 'it does not exist' : `it cannot be read (${r.detail})`;
}

/** The key of a certificate file: its own PRIVATE KEY block, else the `.key` file of the same name. */
interface KeyRead {
  readonly keyFile: string;
  readonly keyPem: string;
}

function readKey(
  certFile: string,
  certBlocks: readonly PemBlock[],
  thumbprint: string,
  platform: NodeJS.Platform,
  certStat: Stats,
): KeyRead {
  const own = certBlocks.find(isKeyBlock);
  if (own) {
    checkKeyFile(certFile, certStat, platform);
    return { keyFile: certFile, keyPem: own.text };
  }
  const keyFile = join(dirname(certFile), `${basename(certFile, extname(certFile))}.key`);
  const r = readBoundedFile(keyFile, MAX_FILE_BYTES);
  if (!r.ok) {
    if (r.reason === 'error' && r.detail === 'ENOENT')
      throw new ClientCertificateError(
        'NoPrivateKey',
        `The certificate with thumbprint ${thumbprint} (${certFile}) has no private key: put it in the same file or in ${keyFile}.`,
      );
    throw new ClientCertificateError(
      'KeyUnreadable',
      `The private key file ${keyFile} of the certificate with thumbprint ${thumbprint} cannot be used: ${unreadable(r)}.`,
    );
  }
  const block = pemBlocks(r.text, MAX_BLOCKS).blocks.find(isKeyBlock);
  if (!block)
    throw new ClientCertificateError(
      'NoPrivateKey',
      `The certificate with thumbprint ${thumbprint} (${certFile}) has no private key: ${keyFile} holds no PEM private key (PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY or ENCRYPTED PRIVATE KEY).`,
    );
  checkKeyFile(keyFile, r.stat, platform);
  return { keyFile, keyPem: block.text };
}

/** The candidate file names, sorted, or the error saying why the directory cannot be searched. */
function listDirectory(directory: string, thumbprint: string): string[] {
  let dir: Dir;
  try {
    dir = opendirSync(directory);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ClientCertificateError(
      'NotFound',
      `No certificate with thumbprint ${thumbprint} was found: the certificate directory ${directory} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}. Put the certificate and its key there as PEM files, or set PSREMOTE_CERT_DIR.`,
    );
  }
  const names: string[] = [];
  try {
    let entries = 0;
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) {
      if (++entries > LOOKUP_LIMITS.entries)
        throw tooLarge(directory, `more than ${LOOKUP_LIMITS.entries} entries`);
      if (CERT_EXTENSIONS.has(extname(d.name).toLowerCase())) names.push(d.name);
      if (names.length > LOOKUP_LIMITS.files)
        throw tooLarge(directory, `more than ${LOOKUP_LIMITS.files} *.pem, *.crt and *.cer files`);
    }
  } catch (e) {
    if (e instanceof ClientCertificateError) throw e;
    throw new ClientCertificateError(
      'NotFound',
      `No certificate with thumbprint ${thumbprint} was found: the certificate directory ${directory} cannot be read (${(e as NodeJS.ErrnoException).code}).`,
    );
  } finally {
    dir.closeSync();
  }
  return names.sort();
}

function tooLarge(directory: string, what: string): ClientCertificateError {
  return new ClientCertificateError(
    'DirectoryTooLarge',
    `The certificate directory ${directory} holds ${what}; psremote does not search further. Keep only your client certificates and their keys there, or point PSREMOTE_CERT_DIR at a directory that holds only those.`,
  );
}

export interface FindOptions {
  readonly env: Env;
  /** Default process.platform (tests pass 'win32'). */
  readonly platform?: NodeJS.Platform;
  /** Windows: crypt32 (default `loadCrypt32()`; tests stand a JavaScript crypt32 in). */
  readonly crypt32?: () => Crypt32Ffi;
  /** The time the certificate must be valid at; default now. */
  readonly now?: Date;
}

/** crypt32, or the error saying why the store cannot be read. */
function storeFfi(thumbprint: string, load: () => Crypt32Ffi): Crypt32Ffi {
  try {
    return load();
  } catch (e) {
    if (!(e instanceof Crypt32UnavailableError)) throw e;
    throw new ClientCertificateError(
      'StoreUnavailable',
      `The certificate with thumbprint ${thumbprint} would be looked up in your certificate store (${USER_STORE}), which cannot be read here: ${e.message} Set PSREMOTE_CERT_DIR to a directory holding the certificate and its key as PEM files instead.`,
      { cause: e },
    );
  }
}

/** Windows: the certificate in Cert:\CurrentUser\My, checked as a directory's would be. */
function findInStore(thumbprint: string, options: FindOptions): ClientCertificateFile {
  const cert = findInUserStore(storeFfi(thumbprint, options.crypt32 ?? loadCrypt32), thumbprint);
  const path = `${USER_STORE}\\${thumbprint}`;
  checkClientCertificate(cert, thumbprint, path, options.now);
  return {
    thumbprint,
    store: USER_STORE,
    certFile: path,
    keyFile: path,
    subject: cert.subject.replace(/\n/g, ', '),
    encrypted: false,
    directory: USER_STORE,
  };
}

/**
 * Windows: the certificate found in the store, exported with its key as PKCS#12 for the handshake (the caller wipes
 * `pfx` once Node's TLS has it). The store is read again: a certificate gone or changed since the lookup is said so.
 */
export function exportStoreCertificate(
  file: ClientCertificateFile,
  options: { readonly crypt32?: () => Crypt32Ffi; readonly now?: Date } = {},
): ExportedCertificate {
  const exported = exportFromUserStore(
    storeFfi(file.thumbprint, options.crypt32 ?? loadCrypt32),
    file.thumbprint,
  );
  try {
    checkClientCertificate(exported.certificate, file.thumbprint, file.certFile, options.now);
  } catch (e) {
    exported.pfx.fill(0);
    throw e;
  }
  return exported;
}

/**
 * The PEM blocks of a certificate file; a file with none that is a DER certificate (what Windows' Export-Certificate
 * writes to a `.cer` by default) is that one certificate, as PEM.
 */
function certificateFileBlocks(r: BoundedFile): { blocks: PemBlock[]; more: boolean } {
  const pem = pemBlocks(r.text, MAX_BLOCKS);
  if (pem.blocks.length > 0 || r.bytes?.[0] !== 0x30) return pem;
  try {
    return {
      blocks: [{ label: 'CERTIFICATE', text: new X509Certificate(r.bytes).toString().trim() }],
      more: false,
    };
  } catch {
    return pem;
  }
}

function countOf(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** The certificates of a file (leaf first), refused when the chain is longer than any real one. */
function certificatesOf(certFile: string, blocks: readonly PemBlock[], more: boolean): PemBlock[] {
  const certs = blocks.filter((b) => b.label === 'CERTIFICATE');
  if (more || certs.length > MAX_CHAIN)
    throw new ClientCertificateError(
      'ChainTooLong',
      `${certFile} holds more than ${MAX_CHAIN} certificates: a client certificate file holds the certificate, its chain and its key, not a bundle.`,
    );
  return certs;
}

/**
 * Finds the certificate with this thumbprint in the certificate directory and the file of its private key, and
 * checks that file's permissions. Reads files only; the key is not decrypted here (see `loadClientCertificate`).
 * Whatever the directory holds (FIFOs, devices, symbolic links to them or in loops, unreadable or huge files,
 * thousands of files), the lookup is bounded by LOOKUP_LIMITS and never blocks.
 */
export function findClientCertificate(thumbprintInput: string, options: FindOptions): ClientCertificateFile {
  const thumbprint = normalizeThumbprint(thumbprintInput);
  const platform = options.platform ?? process.platform;
  // Windows: the user's store, as the WinRM client; a directory only when PSREMOTE_CERT_DIR names one.
  if (platform === 'win32' && !options.env.PSREMOTE_CERT_DIR) return findInStore(thumbprint, options);
  const directory = certificateDirectory(options.env);
  const names = listDirectory(directory, thumbprint);
  let looked = 0;
  let skipped = 0;
  let bytes = 0;
  let keyless: ClientCertificateError | undefined;
  for (const name of names) {
    const certFile = join(directory, name);
    const r = readBoundedFile(certFile, MAX_FILE_BYTES, { keepBytes: true });
    if (!r.ok) {
      skipped++;
      continue;
    }
    bytes += r.text.length;
    if (bytes > LOOKUP_LIMITS.bytes)
      throw tooLarge(
        directory,
        `more than ${LOOKUP_LIMITS.bytes / (1024 * 1024)} MiB of *.pem, *.crt and *.cer files`,
      );
    const { blocks, more } = certificateFileBlocks(r);
    const first = blocks.find((b) => b.label === 'CERTIFICATE');
    if (!first) continue;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(first.text);
    } catch {
      skipped++;
      continue;
    }
    looked++;
    if (thumbprintOf(cert) !== thumbprint) continue;
    certificatesOf(certFile, blocks, more);
    checkClientCertificate(cert, thumbprint, certFile, options.now);
    let key: KeyRead;
    try {
      key = readKey(certFile, blocks, thumbprint, platform, r.stat);
    } catch (e) {
      // The same certificate without its key (me.crt as the CA sent it, me.pem with the key): keep looking; the
      // first file's error is the answer only when no other file has the key. A key refused for its permissions
      // stops here: that file is the one to fix.
      if (!(e instanceof ClientCertificateError) || e.failure !== 'NoPrivateKey') throw e;
      keyless ??= e;
      continue;
    }
    return {
      thumbprint,
      certFile,
      keyFile: key.keyFile,
      subject: cert.subject.replace(/\n/g, ', '),
      encrypted: isEncryptedKey(key.keyPem),
      directory,
    };
  }
  if (keyless) throw keyless;
  const unread = skipped > 0 ? `; ${countOf(skipped, 'file')} there could not be read or parsed` : '';
  throw new ClientCertificateError(
    'NotFound',
    `No certificate with thumbprint ${thumbprint} was found in ${directory} (${countOf(looked, 'certificate')} in its *.pem, *.crt and *.cer files${unread}). Put the certificate and its key there as PEM files, or set PSREMOTE_CERT_DIR.`,
  );
}

/**
 * Reads the certificate and its key for the handshake. The files are read again, through the same bounded reader
 * and the same permission check on the descriptor read (they may have changed since the lookup: a certificate that
 * is no longer the one found is refused). An encrypted key needs `passphrase`, called at most once (the host's
 * prompt); a wrong passphrase, or a key that does not belong to the certificate, is refused here. The passphrase
 * is neither kept nor put in any message.
 */
export async function loadClientCertificate(
  file: ClientCertificateFile,
  passphrase: (() => Promise<string>) | undefined,
  options: { readonly platform?: NodeJS.Platform } = {},
): Promise<LoadedClientCertificate> {
  const platform = options.platform ?? process.platform;
  const r = readBoundedFile(file.certFile, MAX_FILE_BYTES, { keepBytes: true });
  const { blocks, more } = r.ok ? certificateFileBlocks(r) : { blocks: [], more: false };
  const certs = r.ok ? certificatesOf(file.certFile, blocks, more) : [];
  let cert: X509Certificate | undefined;
  try {
    cert = certs[0] ? new X509Certificate(certs[0].text) : undefined;
  } catch {
    cert = undefined;
  }
  if (!r.ok || !cert || thumbprintOf(cert) !== file.thumbprint)
    throw new ClientCertificateError(
      'CertificateChanged',
      `The certificate file ${file.certFile} no longer holds the certificate with thumbprint ${file.thumbprint}${r.ok ? '' : ` (${unreadable(r)})`}.`,
    );
  const { keyFile, keyPem } = readKey(
    file.certFile,
    blocks,
    file.thumbprint,
    platform,
    (r as BoundedFile).stat,
  );
  const encrypted = isEncryptedKey(keyPem);
  const cost = encrypted ? encryptedKeyCost(keyPem) : undefined;
  if (cost && !(cost.work <= MAX_KDF_WORK[cost.kdf]))
    throw new ClientCertificateError(
      'KeyUnreadable',
      `The private key in ${keyFile} is encrypted with a ${cost.kdf} cost of ${Number.isFinite(cost.work) ? cost.work : 'more than 2^48'}; psremote decrypts keys of at most ${MAX_KDF_WORK[cost.kdf]} (decrypting it would hold psremote for minutes). Encrypt it again with a usual cost: openssl pkcs8 -topk8 -v2 aes-256-cbc -iter 600000.`,
    );
  let secret: string | undefined;
  if (encrypted) {
    if (!passphrase)
      throw new ClientCertificateError(
        'PassphraseUnavailable',
        `The private key in ${keyFile} is encrypted, and there is no terminal to ask for its passphrase. Run psremote from a terminal, or store the key decrypted (chmod 600).`,
      );
    // The host's errors (Ctrl+C at the prompt) go up as they are.
    secret = await passphrase();
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(secret === undefined ? keyPem : { key: keyPem, passphrase: secret });
  } catch (e) {
    if (encrypted)
      throw new ClientCertificateError(
        'WrongPassphrase',
        `The passphrase for the private key in ${keyFile} is wrong.`,
      );
    throw new ClientCertificateError(
      'KeyUnreadable',
      `The private key in ${keyFile} cannot be read: ${(e as Error).message}`,
    );
  } finally {
    // A JavaScript string cannot be wiped; the reference at least goes now, not with the session.
    secret = undefined;
  }
  if (key.type !== 'private' || !cert.checkPrivateKey(key))
    throw new ClientCertificateError(
      'KeyMismatch',
      `The private key in ${keyFile} does not belong to the certificate ${file.thumbprint} (${file.certFile}).`,
    );
  return { file, certPem: certs.map((c) => c.text).join('\n'), key };
}
