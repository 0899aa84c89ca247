import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, extname, join } from 'node:path';

/**
 * `-CertificateThumbprint` on Linux and macOS. PowerShell hands the thumbprint to the WinRM client, which looks it
 * up in the user's certificate store (Cert:\CurrentUser\My) and presents that certificate in the TLS handshake; Unix
 * has no such store, so psremote looks in a directory of PEM files instead:
 *
 * - the directory: `$PSREMOTE_CERT_DIR`, else `$XDG_CONFIG_HOME/psremote/certs`, else `~/.config/psremote/certs`;
 * - the files looked at: `*.pem`, `*.crt` and `*.cer` directly in it (not below), in name order; the first
 *   CERTIFICATE block of a file is its certificate, any further ones its chain (sent along in the handshake);
 * - the thumbprint: the SHA-1 of the certificate's DER, as Windows shows it;
 * - the private key: a PRIVATE KEY block in the same file, else the file of the same name with `.key`
 *   (`me.pem` + `me.key`); a key file that others can read, or that another user owns, is refused as ssh refuses
 *   one; an encrypted key is asked for its passphrase through the host.
 */

/** Why a certificate could not be had; rides on the PSRemotingError as its cause. */
export type ClientCertificateFailure =
  | 'BadThumbprint'
  | 'NotFound'
  | 'NoPrivateKey'
  | 'KeyPermissions'
  | 'KeyUnreadable'
  | 'WrongPassphrase'
  | 'KeyMismatch'
  | 'PassphraseUnavailable'
  | 'HttpNotAllowed'
  | 'NotImplementedOnWindows';

export class ClientCertificateError extends Error {
  readonly failure: ClientCertificateFailure;
  constructor(failure: ClientCertificateFailure, message: string) {
    super(message);
    this.name = 'ClientCertificateError';
    this.failure = failure;
  }
}

/** What the lookup found (paths, never key material). */
export interface ClientCertificateFile {
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

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;
const CERT_EXTENSIONS = new Set(['.pem', '.crt', '.cer']);
/** A PEM file larger than this is no certificate file: skipped unread. */
const MAX_FILE_BYTES = 1024 * 1024;

function thumbprintOf(cert: X509Certificate): string {
  return cert.fingerprint.replace(/:/g, '').toUpperCase();
}

function isEncryptedKey(pem: string): boolean {
  return /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || /Proc-Type:\s*4,ENCRYPTED/.test(pem);
}

/**
 * ssh's rule for a private key file (sshkey_perm_ok): owned by the user, and neither group nor others may read or
 * write it. Not checked on Windows, where the mode bits mean nothing.
 */
function checkKeyFile(path: string, platform: NodeJS.Platform): void {
  if (platform === 'win32') return;
  const st = statSync(path);
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

function readSmall(path: string): string | undefined {
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_FILE_BYTES) return undefined;
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export interface FindOptions {
  readonly env: Env;
  /** Default process.platform (tests pass 'win32'). */
  readonly platform?: NodeJS.Platform;
}

/**
 * Finds the certificate with this thumbprint in the certificate directory and the file of its private key, and
 * checks that file's permissions. Reads files only; the key is not decrypted here (see `loadClientCertificate`).
 */
export function findClientCertificate(thumbprintInput: string, options: FindOptions): ClientCertificateFile {
  const thumbprint = normalizeThumbprint(thumbprintInput);
  const platform = options.platform ?? process.platform;
  if (platform === 'win32')
    throw new ClientCertificateError(
      'NotImplementedOnWindows',
      `On Windows the certificate with thumbprint ${thumbprint} would be looked up in your certificate store (Cert:\\CurrentUser\\My), which psremote cannot read yet (it needs crypt32).`,
    );
  const directory = certificateDirectory(options.env);
  let names: string[];
  try {
    names = readdirSync(directory).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ClientCertificateError(
      'NotFound',
      `No certificate with thumbprint ${thumbprint} was found: the certificate directory ${directory} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}. Put the certificate and its key there as PEM files, or set PSREMOTE_CERT_DIR.`,
    );
  }
  let looked = 0;
  for (const name of names) {
    if (!CERT_EXTENSIONS.has(extname(name).toLowerCase())) continue;
    const certFile = join(directory, name);
    const text = readSmall(certFile);
    const first = text?.match(CERT_BLOCK)?.[0];
    if (!text || !first) continue;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(first);
    } catch {
      continue;
    }
    looked++;
    if (thumbprintOf(cert) !== thumbprint) continue;
    let keyFile = certFile;
    let keyText: string | undefined = KEY_BLOCK.test(text) ? text : undefined;
    if (!keyText) {
      keyFile = join(directory, `${basename(name, extname(name))}.key`);
      keyText = readSmall(keyFile);
      if (!keyText || !KEY_BLOCK.test(keyText))
        throw new ClientCertificateError(
          'NoPrivateKey',
          `The certificate with thumbprint ${thumbprint} (${certFile}) has no private key: put it in the same file or in ${keyFile}.`,
        );
    }
    checkKeyFile(keyFile, platform);
    return {
      thumbprint,
      certFile,
      keyFile,
      subject: cert.subject.replace(/\n/g, ', '),
      encrypted: isEncryptedKey(keyText),
      directory,
    };
  }
  throw new ClientCertificateError(
    'NotFound',
    `No certificate with thumbprint ${thumbprint} was found in ${directory} (${looked} certificate${looked === 1 ? '' : 's'} in its *.pem, *.crt and *.cer files). Put the certificate and its key there as PEM files, or set PSREMOTE_CERT_DIR.`,
  );
}

/**
 * Reads the certificate and its key for the handshake. An encrypted key needs `passphrase`, called at most once
 * (the host's prompt); a wrong passphrase, or a key that does not belong to the certificate, is refused here.
 */
export async function loadClientCertificate(
  file: ClientCertificateFile,
  passphrase: (() => Promise<string>) | undefined,
): Promise<LoadedClientCertificate> {
  const text = readFileSync(file.certFile, 'utf8');
  const certs = text.match(CERT_BLOCK) ?? [];
  const keyText = file.keyFile === file.certFile ? text : readFileSync(file.keyFile, 'utf8');
  const keyPem = keyText.match(KEY_BLOCK)?.[0];
  if (!keyPem)
    throw new ClientCertificateError('NoPrivateKey', `${file.keyFile} holds no PEM private key any more.`);
  let secret: string | undefined;
  if (file.encrypted) {
    if (!passphrase)
      throw new ClientCertificateError(
        'PassphraseUnavailable',
        `The private key in ${file.keyFile} is encrypted, and there is no terminal to ask for its passphrase. Run psremote from a terminal, or store the key decrypted (chmod 600).`,
      );
    secret = await passphrase();
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(secret === undefined ? keyPem : { key: keyPem, passphrase: secret });
  } catch (e) {
    if (file.encrypted)
      throw new ClientCertificateError(
        'WrongPassphrase',
        `The passphrase for the private key in ${file.keyFile} is wrong.`,
      );
    throw new ClientCertificateError(
      'KeyUnreadable',
      `The private key in ${file.keyFile} cannot be read: ${(e as Error).message}`,
    );
  }
  const cert = new X509Certificate(certs[0] as string);
  if (!cert.checkPrivateKey(key))
    throw new ClientCertificateError(
      'KeyMismatch',
      `The private key in ${file.keyFile} does not belong to the certificate ${file.thumbprint} (${file.certFile}).`,
    );
  return { file, certPem: certs.join('\n'), key };
}
