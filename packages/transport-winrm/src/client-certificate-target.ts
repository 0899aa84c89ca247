import { createPrivateKey, type KeyObject } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { type ErrorCategory, PSRemotingError, type TransportContext } from '@psremote/core';
import type { Crypt32Ffi } from './auth/certstore/crypt32-ffi.ts';
import { pkcs12ShroudedKey } from './auth/certstore/pkcs12-key.ts';
import {
  ClientCertificateError,
  type ClientCertificateFailure,
  type ClientCertificateFile,
  exportStoreCertificate,
  findClientCertificate,
  loadClientCertificate,
  normalizeThumbprint,
} from './auth/client-certificate.ts';
import type { WsmanEndpoint } from './url/wsman-endpoint.ts';

/**
 * -CertificateThumbprint as the WinRM transport uses it: the lookup at resolveTarget (so --dry-run names the file),
 * the key at connect, and PowerShell-style errors for each way it can fail. The lookup itself is
 * auth/client-certificate.ts.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** `Connecting to remote server <computer> failed with the following error message : ...`, as WinRM failures read. */
function connectFailed(computer: string, detail: string): string {
  return `Connecting to remote server ${computer} failed with the following error message : ${detail} For more information, see the about_Remote_Troubleshooting Help topic.`;
}

/**
 * The errorId of each failure: WinRM's CreateRemoteRunspaceFailed (what PowerShell raises for a certificate it
 * cannot use), except for the checks psremote makes itself before the handshake and a store it cannot read.
 */
type ClientCertificateErrorId =
  | 'CreateRemoteRunspaceFailed'
  | 'ClientCertificateExpired'
  | 'ClientCertificateNotYetValid'
  | 'ClientCertificateNotForClientAuth'
  | 'CertificateStoreNotAvailable';

const ERROR_ID_OF: Partial<Record<ClientCertificateFailure, [ClientCertificateErrorId, ErrorCategory]>> = {
  CertificateExpired: ['ClientCertificateExpired', 'SecurityError'],
  CertificateNotYetValid: ['ClientCertificateNotYetValid', 'SecurityError'],
  NotForClientAuthentication: ['ClientCertificateNotForClientAuth', 'SecurityError'],
  StoreUnavailable: ['CertificateStoreNotAvailable', 'NotInstalled'],
};

/** What to do, for the failures where it is not in the message already; `store`: the lookup was the Windows store. */
function recommendedAction(failure: ClientCertificateFailure, store: boolean): string | undefined {
  switch (failure) {
    case 'NotFound':
      return store
        ? 'Import the certificate with its private key into Cert:\\CurrentUser\\My, or point PSREMOTE_CERT_DIR at a directory of PEM files.'
        : 'Copy the certificate and its private key (PEM) into the certificate directory, or point PSREMOTE_CERT_DIR at theirs.';
    case 'StoreUnavailable':
      return 'Set PSREMOTE_CERT_DIR to a directory holding the certificate and its private key as PEM files.';
    case 'KeyNotExportable':
      return 'Import the certificate again from its .pfx with an exportable key, or use PSREMOTE_CERT_DIR with PEM files.';
    default:
      return undefined;
  }
}

function certificateError(computer: string, e: ClientCertificateError, store = false): PSRemotingError {
  const [errorId, category] = ERROR_ID_OF[e.failure] ?? ['CreateRemoteRunspaceFailed', 'InvalidArgument'];
  const action = recommendedAction(e.failure, store);
  return new PSRemotingError(connectFailed(computer, e.message), {
    errorId,
    category,
    targetObject: computer,
    cause: e,
    ...(action ? { recommendedAction: action } : {}),
  });
}

/** Client certificates only over HTTPS: the certificate is presented in the TLS handshake. */
export function certificateOverHttp(endpoint: WsmanEndpoint): PSRemotingError {
  const u = new URL(endpoint.url);
  return certificateError(
    endpoint.computerName,
    new ClientCertificateError(
      'HttpNotAllowed',
      `The WinRM client cannot process the request. Client certificate authentication (-CertificateThumbprint) needs the HTTPS transport, and ${u.origin}${u.pathname} is HTTP. Use -UseSSL, or an https:// -ConnectionUri.`,
    ),
  );
}

/** The certificate file for -CertificateThumbprint, or PowerShell's error naming where psremote looked. */
export function findCertificate(
  thumbprint: string,
  endpoint: WsmanEndpoint,
  env: Env,
  platform: NodeJS.Platform = process.platform,
  crypt32?: () => Crypt32Ffi,
): ClientCertificateFile {
  try {
    // A malformed thumbprint is said first; then, over HTTP, the HTTP (the thing to fix, whatever the directory
    // holds), before any file is opened.
    normalizeThumbprint(thumbprint);
    if (endpoint.scheme !== 'https') throw certificateOverHttp(endpoint);
    return findClientCertificate(thumbprint, { env, platform, ...(crypt32 ? { crypt32 } : {}) });
  } catch (e) {
    if (e instanceof ClientCertificateError)
      throw certificateError(endpoint.computerName, e, platform === 'win32' && !env.PSREMOTE_CERT_DIR);
    throw e;
  }
}

/** What the TLS handshake needs: the certificate and its key (a directory), or a context made from the store's PFX. */
export type ClientCertificateTls =
  | { readonly cert: string; readonly key: KeyObject }
  | { readonly clientContext: SecureContext };

/**
 * A PFX whose certificates are under RC2-40 (a Windows without PKCS12_EXPORT_PBES2_PARAMS: before 10 1709 / Server
 * 2019): its key bag (3DES, which OpenSSL 3 reads) with the certificate the store gave. Undefined when the key is not
 * where Windows puts it, or does not belong to the certificate.
 */
function legacyPfxContext(
  exported: ReturnType<typeof exportStoreCertificate>,
  ca: string | Buffer | ReadonlyArray<string | Buffer> | undefined,
): SecureContext | undefined {
  const epki = pkcs12ShroudedKey(exported.pfx);
  if (!epki) return undefined;
  const { passphrase } = exported;
  try {
    const key = createPrivateKey({ key: epki, format: 'der', type: 'pkcs8', passphrase });
    if (!exported.certificate.checkPrivateKey(key)) return undefined;
    // Still encrypted: OpenSSL decrypts it inside the context, no plain key is ever a JS string.
    const lines = epki.toString('base64').match(/.{1,64}/g) ?? [];
    return createSecureContext({
      ...(ca ? { ca: ca as string | Buffer | Array<string | Buffer> } : {}),
      cert: exported.certificate.toString(),
      key: `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${lines.join('\n')}\n-----END ENCRYPTED PRIVATE KEY-----\n`,
      passphrase,
    });
  } catch {
    return undefined;
  } finally {
    epki.fill(0);
  }
}

/**
 * Node's TLS context of a certificate exported from the store, with the same trust as without one (`ca`, else Node's
 * roots). The PFX is wiped as soon as OpenSSL has read it.
 */
function storeContext(
  file: ClientCertificateFile,
  ca: string | Buffer | ReadonlyArray<string | Buffer> | undefined,
  crypt32: (() => Crypt32Ffi) | undefined,
): SecureContext {
  const exported = exportStoreCertificate(file, crypt32 ? { crypt32 } : {});
  try {
    return createSecureContext({
      ...(ca ? { ca: ca as string | Buffer | Array<string | Buffer> } : {}),
      pfx: exported.pfx,
      passphrase: exported.passphrase,
    });
  } catch (e) {
    const legacy = (e as { code?: string }).code === 'ERR_CRYPTO_UNSUPPORTED_OPERATION';
    const context = legacy ? legacyPfxContext(exported, ca) : undefined;
    if (context) return context;
    throw new ClientCertificateError(
      'KeyUnreadable',
      legacy
        ? `Windows exported the certificate ${file.thumbprint} as PKCS#12 with legacy encryption (RC2), which Node's OpenSSL 3 does not read. Use Windows 10 1709 or later (AES-256 exports), run with NODE_OPTIONS=--openssl-legacy-provider, or set PSREMOTE_CERT_DIR to a directory holding the certificate and its key as PEM files.`
        : `The certificate ${file.thumbprint} exported from ${file.store} cannot be used for TLS: ${(e as Error).message}`,
      { cause: e },
    );
  } finally {
    exported.pfx.fill(0);
  }
}

/**
 * The certificate and its key for the handshake; an encrypted key's passphrase is asked through the host. From the
 * Windows store: exported and made into a TLS context at once (`ca` is the trust that context carries).
 */
export async function loadCertificate(
  target: { readonly computerName: string; readonly certificate?: ClientCertificateFile | undefined },
  ctx: Pick<TransportContext, 'hostUi' | 'signal'>,
  options: {
    readonly ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
    readonly crypt32?: (() => Crypt32Ffi) | undefined;
  } = {},
): Promise<ClientCertificateTls> {
  const file = target.certificate as ClientCertificateFile;
  const ask = ctx.hostUi.interactive
    ? async () => {
        ctx.hostUi.write(`Enter the passphrase for the private key in ${file.keyFile}: `);
        return ctx.hostUi.readLineAsSecureString(ctx.signal);
      }
    : undefined;
  try {
    if (file.store) return { clientContext: storeContext(file, options.ca, options.crypt32) };
    const loaded = await loadClientCertificate(file, ask);
    return { cert: loaded.certPem, key: loaded.key };
  } catch (e) {
    if (e instanceof ClientCertificateError)
      throw certificateError(target.computerName, e, file.store !== undefined);
    throw e;
  }
}

export type { ClientCertificateFile };
