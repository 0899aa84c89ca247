import { PSRemotingError, type TransportContext } from '@psremote/core';
import {
  ClientCertificateError,
  type ClientCertificateFile,
  findClientCertificate,
  type LoadedClientCertificate,
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

function certificateError(computer: string, e: ClientCertificateError): PSRemotingError {
  const windows = e.failure === 'NotImplementedOnWindows';
  return new PSRemotingError(connectFailed(computer, e.message), {
    errorId: 'CreateRemoteRunspaceFailed',
    category: windows ? 'NotImplemented' : 'InvalidArgument',
    targetObject: computer,
    cause: e,
    ...(windows
      ? {
          recommendedAction:
            'Use -Credential with -Authentication Negotiate, Kerberos or Basic (with -UseSSL).',
        }
      : e.failure === 'NotFound'
        ? {
            recommendedAction:
              'Copy the certificate and its private key (PEM) into the certificate directory, or point PSREMOTE_CERT_DIR at theirs.',
          }
        : {}),
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
): ClientCertificateFile {
  try {
    // A malformed thumbprint is said first; then, over HTTP, the HTTP (the thing to fix, whatever the directory
    // holds), before any file is opened.
    normalizeThumbprint(thumbprint);
    if (endpoint.scheme !== 'https') throw certificateOverHttp(endpoint);
    return findClientCertificate(thumbprint, { env, platform });
  } catch (e) {
    if (e instanceof ClientCertificateError) throw certificateError(endpoint.computerName, e);
    throw e;
  }
}

/** The certificate and its key for the handshake; an encrypted key's passphrase is asked through the host. */
export async function loadCertificate(
  target: { readonly computerName: string; readonly certificate?: ClientCertificateFile | undefined },
  ctx: Pick<TransportContext, 'hostUi' | 'signal'>,
): Promise<LoadedClientCertificate> {
  const file = target.certificate as ClientCertificateFile;
  const ask = ctx.hostUi.interactive
    ? async () => {
        ctx.hostUi.write(`Enter the passphrase for the private key in ${file.keyFile}: `);
        return ctx.hostUi.readLineAsSecureString(ctx.signal);
      }
    : undefined;
  try {
    return await loadClientCertificate(file, ask);
  } catch (e) {
    if (e instanceof ClientCertificateError) throw certificateError(target.computerName, e);
    throw e;
  }
}

export type { ClientCertificateFile };
