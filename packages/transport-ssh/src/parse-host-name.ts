import { isIPv4, isIPv6 } from 'node:net';
import { sshError } from './errors.ts';

/** What PowerShell makes of a `-HostName` value. */
export interface ParsedHostName {
  /** The host: `.` becomes `localhost`; IPv6 keeps no brackets (pwsh strips them for ssh). */
  readonly host: string;
  /** The user embedded as `user@host`, as .NET's Uri.UserInfo gives it (still percent-escaped). */
  readonly userName?: string;
  /** The port embedded as `host:port` (0 is kept, as pwsh keeps it). */
  readonly port?: number;
}

// A DNS label as System.Uri accepts it: letters (any script), digits, '-' and '_'.
const DNS_LABEL = /^[\p{L}\p{N}_-]{1,63}$/u;

function invalid(hostName: string, why: string): never {
  // PowerShell's RemotingErrorIdStrings.InvalidComputerName, plus the reason.
  throw sshError(
    'PSSessionInvalidComputerName',
    'InvalidArgument',
    `The computer name '${hostName}' is not valid (${why}). Give a host name or address, optionally as user@host:port; put IPv6 addresses in brackets ([::1]:22).`,
    { targetObject: hostName },
  );
}

function isDnsName(host: string): boolean {
  const labels = host.endsWith('.') ? host.slice(0, -1).split('.') : host.split('.');
  return labels.length > 0 && labels.every((l) => DNS_LABEL.test(l));
}

/**
 * Parses `-HostName` exactly as PowerShell does (protocols.md 3.4, RemotingUtils.ParseSshHostName):
 * `new Uri("ssh://" + hostname)`, then `Host` (`.` -> localhost), `UserInfo` and `Port`. The rules below were
 * checked against `[uri]` in pwsh 7.6.9: the authority ends at `/`, `?` or `#`; the user part ends at the first
 * `@` (so `a@b@host` and `DOMAIN\user@host` are invalid); an empty port (`host:`) means none.
 */
export function parseSshHostName(hostName: string): ParsedHostName {
  const end = hostName.search(/[/?#]/);
  const authority = end < 0 ? hostName : hostName.slice(0, end);
  const at = authority.indexOf('@');
  const userInfo = at < 0 ? '' : authority.slice(0, at);
  const rest = at < 0 ? authority : authority.slice(at + 1);
  if (/[\s\\[\]@]/.test(userInfo)) invalid(hostName, 'the user part cannot be parsed');
  if (rest.includes('@')) invalid(hostName, 'more than one @');

  let host: string;
  let after: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) invalid(hostName, 'unclosed [');
    // A zone id (%eth0) is accepted and dropped, as System.Uri drops it from Host.
    const address = rest.slice(1, close).split('%')[0] ?? '';
    if (!isIPv6(address)) invalid(hostName, 'not an IPv6 address in brackets');
    host = address;
    after = rest.slice(close + 1);
  } else {
    const colon = rest.indexOf(':');
    host = colon < 0 ? rest : rest.slice(0, colon);
    after = colon < 0 ? '' : rest.slice(colon);
    if (host === '.' && at < 0) host = 'localhost';
    else if (!isIPv4(host) && !isDnsName(host)) invalid(hostName, 'the host name cannot be parsed');
  }

  let port: number | undefined;
  if (after !== '') {
    if (!after.startsWith(':')) invalid(hostName, 'the host name cannot be parsed');
    const digits = after.slice(1);
    if (digits !== '') {
      if (!/^\d{1,5}$/.test(digits) || Number(digits) > 65535) invalid(hostName, 'invalid port');
      port = Number(digits);
    }
  }
  return {
    host,
    ...(userInfo !== '' ? { userName: userInfo } : {}),
    ...(port !== undefined ? { port } : {}),
  };
}

/** pwsh's `-l` mapping: a Windows-style `DOMAIN\user` becomes `user@DOMAIN` (protocols.md 3.4). */
export function sshUserName(userName: string): string {
  const slash = userName.indexOf('\\');
  if (slash <= 0 || slash === userName.length - 1) return userName;
  return `${userName.slice(slash + 1)}@${userName.slice(0, slash)}`;
}
