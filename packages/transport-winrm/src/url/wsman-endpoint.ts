import { isIPv6 } from 'node:net';
import { PSRemotingError } from '@psremote/core';

/** `WSManNativeApi.ResourceURIPrefix` ([PS] WSManNativeAPI.cs:23). */
export const RESOURCE_URI_PREFIX = 'http://schemas.microsoft.com/powershell/';
/** The resource URI of the default session configuration ([PS] RunspaceConnectionInfo.cs `DefaultShellUri`). */
export const DEFAULT_SHELL_URI = `${RESOURCE_URI_PREFIX}Microsoft.PowerShell`;
/** `s_defaultAppName` ([PS] RunspaceConnectionInfo.cs). */
export const DEFAULT_APP_NAME = '/wsman';
/** The WinRM client's own default ports, applied when PowerShell hands it a connection string without a scheme. */
export const WINRM_HTTP_PORT = 5985;
export const WINRM_HTTPS_PORT = 5986;
/**
 * The version put in `?PSVersion=`. PowerShell sends its own `$PSVersionTable.PSVersion`; psremote's PSRP engine
 * announces PSVersion 2.0 in SESSION_CAPABILITY, and the query only exists so old Exchange endpoints can redirect
 * ([PS] WSManTransportManager.cs `Initialize`), so the same 2.0 is sent here.
 */
export const DEFAULT_PS_VERSION = '2.0';

/** Where and how to reach a WS-Management endpoint, resolved as PowerShell's WSManConnectionInfo does. */
export interface WsmanEndpoint {
  /** `WSManConnectionInfo.ComputerName`: what PowerShell names in its messages (IPv6 bracketed). */
  readonly computerName: string;
  readonly scheme: 'http' | 'https';
  /** The host to connect to: no brackets around an IPv6 literal. */
  readonly host: string;
  readonly port: number;
  /**
   * What PowerShell passes to WSManCreateSession: without a scheme when the WinRM default port applies
   * (`srv01/wsman?PSVersion=2.0`), else the full URI (`http://srv01:80/wsman?PSVersion=2.0`).
   */
  readonly connectionString: string;
  /** The absolute URL to POST to, also the `wsa:To` header. */
  readonly url: string;
  /** The shell's resource URI (`wsman:ResourceURI`). */
  readonly resourceUri: string;
  /** True when no port was given and the WinRM defaults (5985 / 5986) apply. */
  readonly usesDefaultWinRMPort: boolean;
}

export interface ComputerNameTarget {
  readonly computerName: string;
  /** 0 or absent: the WinRM default port for the scheme. */
  readonly port?: number;
  readonly useSSL?: boolean;
  /** Absent or empty: `/wsman`. */
  readonly applicationName?: string;
  /** Absent or empty: Microsoft.PowerShell. */
  readonly configurationName?: string;
  readonly psVersion?: string;
}

export interface ConnectionUriTarget {
  readonly connectionUri: string;
  readonly configurationName?: string;
  readonly psVersion?: string;
}

function invalidArgument(message: string, target: unknown, cause?: unknown): PSRemotingError {
  // Enter-PSSession catches ArgumentException / NotSupportedException from WSManConnectionInfo and writes
  // CreateRemoteRunspaceFailed, InvalidArgument ([PS] PushRunspaceCommand.cs WriteErrorCreateRemoteRunspaceFailed).
  return new PSRemotingError(message, {
    errorId: 'CreateRemoteRunspaceFailed',
    category: 'InvalidArgument',
    targetObject: target,
    ...(cause === undefined ? {} : { cause }),
  });
}

function hostnameNotParsed(target: string): PSRemotingError {
  // UriBuilder throws UriFormatException, which Enter-PSSession does not catch: pwsh 7.6.9 reports
  // `System.UriFormatException,Microsoft.PowerShell.Commands.EnterPSSessionCommand`, category NotSpecified.
  return new PSRemotingError('Invalid URI: The hostname could not be parsed.', {
    errorId: 'System.UriFormatException',
    category: 'NotSpecified',
    targetObject: target,
  });
}

/** RemotingErrorIdStrings.InvalidSchemeValue. */
function invalidScheme(scheme: string, target: unknown): PSRemotingError {
  return invalidArgument(
    `${scheme} is not a valid schema value. Valid values are "http" and "https".`,
    target,
  );
}

/**
 * ConfigurationName to resource URI, as `WSManConnectionInfo.ResolveShellUri`: empty means Microsoft.PowerShell;
 * a value that does not contain `http://schemas.microsoft.com/powershell/` (any case, anywhere) gets it prepended,
 * so only URIs under that prefix are kept as given (`http://example.com/x` becomes
 * `http://schemas.microsoft.com/powershell/http://example.com/x`, as in PowerShell).
 */
export function resolveShellUri(configurationName: string | undefined): string {
  const shell = configurationName ? configurationName : DEFAULT_SHELL_URI;
  return shell.toLowerCase().includes(RESOURCE_URI_PREFIX) ? shell : RESOURCE_URI_PREFIX + shell;
}

function stripBrackets(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/**
 * `WSManConnectionInfo.ConstructUri`'s host rule: empty or `.` is localhost, the name is trimmed, an IPv6 literal
 * is bracketed. Then a check standing in for .NET's UriBuilder: names it cannot parse (spaces, `%`, `*`, a colon
 * outside an IPv6 literal, an empty label) fail as they do in pwsh. Names UriBuilder silently turns into another
 * URI (`srv@01`, `srv/01`, `srv#x`, `[::1]:5985`) are refused here too rather than connecting somewhere else.
 */
function resolveHost(computerName: string): string {
  if (computerName === '' || computerName === '.') return 'localhost';
  const name = computerName.trim();
  if (isIPv6(stripBrackets(name))) return name.startsWith('[') ? name : `[${name}]`;
  if (name === '' || /[\s%*:/?#@[\]\\<>"^`{|}\u0000-\u001f]/.test(name))
    throw hostnameNotParsed(computerName);
  const labels = name.endsWith('.') ? name.slice(0, -1).split('.') : name.split('.');
  if (labels.some((l) => l === '')) throw hostnameNotParsed(computerName);
  return name;
}

/** UriBuilder's Path: a leading slash, characters that cannot stand in a path escaped. */
function appPath(appName: string | undefined): string {
  const app = appName ? appName : DEFAULT_APP_NAME;
  const withSlash = app.startsWith('/') ? app : `/${app}`;
  return encodeURI(withSlash)
    .replace(/%25([0-9A-Fa-f]{2})/g, '%$1')
    .replace(/\?/g, '%3F')
    .replace(/#/g, '%23');
}

function withPSVersion(connectionString: string, hasQuery: boolean, psVersion: string): string {
  // [PS] WSManTransportManager.cs Initialize: `?PSVersion=` after trimming trailing slashes, or `;PSVersion=`
  // when the URI already has a query.
  return hasQuery
    ? `${connectionString};PSVersion=${psVersion}`
    : `${connectionString.replace(/\/+$/, '')}?PSVersion=${psVersion}`;
}

function finish(
  computerName: string,
  scheme: 'http' | 'https',
  hostInUri: string,
  port: number,
  connectionString: string,
  resourceUri: string,
  usesDefaultWinRMPort: boolean,
): WsmanEndpoint {
  // The request URL: the connection string resolved as the WinRM client does, the default port made explicit.
  const afterAuthority = usesDefaultWinRMPort
    ? connectionString.slice(hostInUri.length)
    : connectionString.replace(/^[a-z]+:\/\/[^/?#]*/i, '');
  const pathAndQuery = afterAuthority.replace(/#.*$/, '');
  const path = pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`;
  return {
    computerName,
    scheme,
    host: stripBrackets(hostInUri),
    port,
    connectionString,
    url: `${scheme}://${hostInUri}:${port}${path}`,
    resourceUri,
    usesDefaultWinRMPort,
  };
}

/**
 * Enter-PSSession's ComputerName set: WSManConnectionInfo with ComputerName, Port, AppName, ShellUri and Scheme
 * set in that order ([PS] PushRunspaceCommand.cs CreateRunspaceWhenComputerNameParameterSpecified;
 * RunspaceConnectionInfo.cs ConstructUri). Port 0 or absent leaves the port to WinRM: 5985, or 5986 with UseSSL.
 */
export function endpointFromComputerName(target: ComputerNameTarget): WsmanEndpoint {
  const host = resolveHost(target.computerName);
  const port = target.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    // RemotingErrorIdStrings.PortIsOutOfRange (Enter-PSSession's own [ValidateRange(1, 65535)] comes first).
    throw invalidArgument(
      `The port number ${port} is not within the range of valid values. The range of valid values is between 1 and 65535.`,
      host,
    );
  }
  const scheme = target.useSSL ? 'https' : 'http';
  const path = appPath(target.applicationName);
  const useDefault = port === 0;
  const psVersion = target.psVersion ?? DEFAULT_PS_VERSION;
  // GetConnectionString drops `scheme://` when the default port applies, so WinRM picks 5985/5986.
  const base = useDefault ? `${host}${path}` : `${scheme}://${host}:${port}${path}`;
  return finish(
    host,
    scheme,
    host,
    useDefault ? (scheme === 'https' ? WINRM_HTTPS_PORT : WINRM_HTTP_PORT) : port,
    withPSVersion(base, false, psVersion),
    resolveShellUri(target.configurationName),
    useDefault,
  );
}

/**
 * Enter-PSSession's Uri set: `WSManConnectionInfo.ConnectionUri = uri` ([PS] RunspaceConnectionInfo.cs UpdateUri).
 * A relative URI is refused. With path `/` and no query or fragment the path becomes `/wsman` and the URI is
 * rebuilt from scheme, host and `Uri.Port`, which is the scheme's port (80 / 443) when none was typed, not WinRM's
 * 5985 / 5986 (`http://srv01` goes to port 80, as in PowerShell); only an explicit `:0` leaves it to WinRM.
 * Otherwise the URI is used as typed. Unlike PowerShell, a scheme other than http/https is refused even with a
 * path (PowerShell hands such a string to WinRM, which fails later).
 */
export function endpointFromConnectionUri(target: ConnectionUriTarget): WsmanEndpoint {
  const original = target.connectionUri;
  const psVersion = target.psVersion ?? DEFAULT_PS_VERSION;
  const resourceUri = resolveShellUri(target.configurationName);
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(original.trim());
  // .NET: `srv01` and `/wsman` are relative; so are `http:srv01` and `http:/srv01` (pwsh 7.6.9).
  const relative = () =>
    invalidArgument('Relative URIs are not supported in the creation of remote sessions.', original);
  if (!m) throw relative();
  const schemeIn = (m[1] as string).toLowerCase();
  const rest = m[2] as string;
  if ((schemeIn === 'http' || schemeIn === 'https') && !rest.startsWith('//')) throw relative();
  if (schemeIn !== 'http' && schemeIn !== 'https') throw invalidScheme(schemeIn, original);
  const scheme = schemeIn;
  let parsed: URL;
  try {
    parsed = new URL(original.trim());
  } catch (e) {
    throw new PSRemotingError(
      `Cannot bind parameter 'ConnectionUri'. Cannot convert value "${original}" to type "System.Uri". Error: "Invalid URI: The hostname could not be parsed."`,
      {
        errorId: 'CannotConvertArgumentNoMessage',
        category: 'InvalidArgument',
        targetObject: original,
        cause: e,
      },
    );
  }
  const hostInUri = parsed.hostname; // lower-cased; IPv6 bracketed, as .NET's Uri.Host
  const typedPort = parsed.port === '' ? undefined : Number(parsed.port);
  const uriPort = typedPort ?? (scheme === 'https' ? 443 : 80);
  const authority = /^[a-z]+:\/\/([^/?#]*)/i.exec(original.trim())?.[1] ?? '';
  const hasTypedPort = /:\d*$/.test(authority.replace(/^.*@/, '').replace(/^\[[^\]]*\]/, ''));
  const isRoot =
    parsed.pathname === '/' && parsed.search === '' && parsed.hash === '' && !/[?#]/.test(authority);
  if (isRoot) {
    // ConstructUri(uri.Scheme, uri.Host, uri.Port, "/wsman"): port 0 (only when typed) means the WinRM default.
    const explicitZero = hasTypedPort && uriPort === 0;
    if (explicitZero) {
      const port = scheme === 'https' ? WINRM_HTTPS_PORT : WINRM_HTTP_PORT;
      return finish(
        hostInUri,
        scheme,
        hostInUri,
        port,
        withPSVersion(`${hostInUri}${DEFAULT_APP_NAME}`, false, psVersion),
        resourceUri,
        true,
      );
    }
    const cs = `${scheme}://${hostInUri}:${uriPort}${DEFAULT_APP_NAME}`;
    return finish(
      hostInUri,
      scheme,
      hostInUri,
      uriPort,
      withPSVersion(cs, false, psVersion),
      resourceUri,
      false,
    );
  }
  // Taken verbatim: the connection string is the URI as typed (.NET's OriginalString).
  const cs = withPSVersion(original.trim(), parsed.search !== '', psVersion);
  const url = `${scheme}://${hostInUri}:${uriPort}${parsed.pathname}${parsed.search === '' ? '?' : `${parsed.search};`}PSVersion=${psVersion}`;
  return { ...finish(hostInUri, scheme, hostInUri, uriPort, cs, resourceUri, false), url };
}
