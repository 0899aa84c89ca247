import type { X509Certificate } from 'node:crypto';
import { ClientCertificateError } from './client-certificate-error.ts';

/**
 * What psremote checks of a client certificate before the handshake, wherever it came from (a directory or the
 * Windows store): a server refuses a certificate outside its validity period, and WinRM refuses one whose Extended
 * Key Usage does not allow client authentication (RFC 5280 4.2.1.12: when the extension is present, the certificate
 * is for the purposes it lists only). Said here, with the dates and the fix, rather than as a handshake failure or
 * "Access is denied" from the server. A certificate without the extension is good for any purpose, and accepted.
 */

/** id-kp-clientAuth (RFC 5280 4.2.1.12). */
export const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';
/** anyExtendedKeyUsage (RFC 5280 4.2.1.12). */
export const ANY_EKU = '2.5.29.37.0';

/** `2026-11-27 03:04:05 UTC`: Node's validFrom/validTo (`Nov 27 03:04:05 2026 GMT`) as an unambiguous UTC date. */
export function utcDate(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The usages a server knows by name, for the message. */
const EKU_NAMES: Readonly<Record<string, string>> = {
  '1.3.6.1.5.5.7.3.1': 'Server Authentication',
  '1.3.6.1.5.5.7.3.3': 'Code Signing',
  '1.3.6.1.5.5.7.3.4': 'Secure Email',
  '1.3.6.1.5.5.7.3.8': 'Time Stamping',
  '1.3.6.1.5.5.7.3.9': 'OCSP Signing',
  '1.3.6.1.4.1.311.10.3.4': 'Encrypting File System',
};

function ekuName(oid: string): string {
  const name = EKU_NAMES[oid];
  return name ? `${name} (${oid})` : oid;
}

/**
 * Throws ClientCertificateError (`CertificateNotYetValid`, `CertificateExpired`, `NotForClientAuthentication`) when
 * the certificate cannot authenticate a client now. `where` names it in the messages (`the certificate file ...`,
 * `Cert:\CurrentUser\My`).
 */
export function checkClientCertificate(
  cert: X509Certificate,
  thumbprint: string,
  where: string,
  now: Date = new Date(),
): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (!Number.isNaN(from.getTime()) && now < from)
    throw new ClientCertificateError(
      'CertificateNotYetValid',
      `The certificate with thumbprint ${thumbprint} (${where}) is not valid yet: it is valid from ${utcDate(from)} to ${utcDate(to)}, and it is ${utcDate(now)}. Check this computer's clock, or use a certificate that is valid now.`,
    );
  if (!Number.isNaN(to.getTime()) && now > to)
    throw new ClientCertificateError(
      'CertificateExpired',
      `The certificate with thumbprint ${thumbprint} (${where}) expired on ${utcDate(to)} (it was valid from ${utcDate(from)}); it is ${utcDate(now)}. Renew the certificate and map the new one on the server.`,
    );
  // Node gives the EKU extension's OIDs, or undefined when the certificate has none.
  const usages = cert.keyUsage;
  if (usages && !usages.includes(CLIENT_AUTH_EKU) && !usages.includes(ANY_EKU))
    throw new ClientCertificateError(
      'NotForClientAuthentication',
      `The certificate with thumbprint ${thumbprint} (${where}) is not for client authentication: its Extended Key Usage lists ${usages.length === 0 ? 'nothing' : usages.map(ekuName).join(', ')}, without Client Authentication (${CLIENT_AUTH_EKU}), so WinRM refuses it. Use a certificate issued for Client Authentication.`,
    );
}
