import { isIP } from 'node:net';

/**
 * The service principal WinRM asks a ticket for, as Windows forms it: `HTTP/<computer>` (the documented example of
 * PSSessionOption.IncludePortInSPN is `HTTP/<ComputerName>:5985`; the computer account's HOST/ SPN covers HTTP/ in
 * Active Directory), with `:<port>` under IncludePortInSPN. pypsrp defaults to `WSMAN/<host>` instead; `service`
 * chooses. The host is the one the user typed (after any `hostname` override), not a DNS answer: canonicalisation
 * (CNAMEs) is left to the system Kerberos library's own rules (MIT: dns_canonicalize_hostname, rdns in krb5.conf).
 */
export interface KerberosTarget {
  /** `HTTP/srv01.corp.example` or `HTTP/srv01.corp.example:5985`, for messages. */
  readonly spn: string;
  /** What gss_import_name gets, and how to read it. */
  readonly gssName: string;
  readonly gssType: 'hostbasedService' | 'krb5PrincipalName';
}

export interface KerberosTargetOptions {
  /** Default `HTTP`. */
  readonly service?: string;
  /** PSSessionOption.IncludePortInSPN: append the port. */
  readonly includePortInSpn?: boolean;
  readonly port?: number;
}

/** A URL host without IPv6 brackets. */
export function bareHost(host: string): string {
  return host.replace(/^\[|\]$/g, '');
}

/** WinRM's list for ERROR_WSMAN_SERVER_DESTINATION_LOCALHOST: `localhost`, `127.0.0.1`, `[::1]`. */
export function isLocalhostName(host: string): boolean {
  const h = bareHost(host).toLowerCase();
  return h === 'localhost' || h === '127.0.0.1' || h === '::1';
}

export function isIpAddress(host: string): boolean {
  return isIP(bareHost(host)) !== 0;
}

export function kerberosTarget(host: string, options: KerberosTargetOptions = {}): KerberosTarget {
  const service = options.service ?? 'HTTP';
  const h = bareHost(host);
  if (options.includePortInSpn && options.port !== undefined) {
    // A host-based name (service@host) has no port: name the principal itself; its realm is the default realm.
    const spn = `${service}/${h}:${options.port}`;
    return { spn, gssName: spn, gssType: 'krb5PrincipalName' };
  }
  return { spn: `${service}/${h}`, gssName: `${service}@${h}`, gssType: 'hostbasedService' };
}
