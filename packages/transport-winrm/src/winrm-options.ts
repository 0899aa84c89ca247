import { PSRemotingError, type ResolvedSessionOptions, type SessionOptionValue } from '@psremote/core';

/** What the WinRM transport takes from a PSSessionOption (core resolves the timeouts; the rest is passThrough). */
export interface WinrmSessionOptions {
  readonly openTimeoutMs: number;
  readonly cancelTimeoutMs: number;
  /** wsman:OperationTimeout of Create, Command, Send, Signal and Delete, in seconds. */
  readonly operationTimeoutSeconds: number;
  /** PSSessionOption.IdleTimeout in ms; -1: the server's default. */
  readonly idleTimeoutMs: number;
  readonly skipCACheck: boolean;
  readonly skipCNCheck: boolean;
  /** Accepted; Node checks no revocation lists by default, so it changes nothing. */
  readonly skipRevocationCheck: boolean;
  readonly noEncryption: boolean;
  readonly noMachineProfile: boolean;
  /** PSSessionOption.IncludePortInSPN: the Kerberos SPN is `HTTP/<host>:<port>`. */
  readonly includePortInSpn: boolean;
  /** MaximumConnectionRedirectionCount: default 5, a negative value is unlimited (WSManConnectionInfo). */
  readonly maximumRedirection: number;
  /** PSSessionOption.Culture: `wsmv:DataLocale`. */
  readonly culture: string;
  /** PSSessionOption.UICulture: `wsman:Locale`. */
  readonly uiCulture: string;
}

const SESSION_OPTION = 'System.Management.Automation.Remoting.PSSessionOption';

function lookup(
  passThrough: Readonly<Record<string, SessionOptionValue>>,
  name: string,
): SessionOptionValue | undefined {
  const key = Object.keys(passThrough).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : passThrough[key];
}

/** LanguagePrimitives' conversion to Boolean for the values a hashtable can carry. */
function toBool(v: SessionOptionValue | undefined): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'string') {
    // The binder flattens $true/$false to True/False and numbers to their digits.
    if (/^(true|\$true)$/i.test(v)) return true;
    if (/^(false|\$false|0|)$/i.test(v)) return false;
    return /^-?\d+$/.test(v) ? Number(v) !== 0 : v.length > 0;
  }
  switch (v.kind) {
    case 'bool':
      return v.value;
    case 'int':
    case 'double':
      return Number(v.value) !== 0;
    case 'long':
      return v.value !== 0n;
    case 'string':
      return v.value.length > 0;
    case 'null':
      return false;
    default:
      return true;
  }
}

function toInt(v: SessionOptionValue | undefined, fallback: number, name: string): number {
  if (v === undefined || v === null) return fallback;
  const raw =
    typeof v === 'object'
      ? 'value' in v &&
        (typeof v.value === 'number' || typeof v.value === 'bigint' || typeof v.value === 'string')
        ? v.value
        : undefined
      : v;
  const n = Number(raw);
  if (raw === undefined || raw === '' || !Number.isFinite(n))
    throw new PSRemotingError(
      `Cannot bind parameter 'SessionOption'. Cannot create object of type "${SESSION_OPTION}". Cannot convert value "${String(raw)}" to type "System.Int32".`,
      { errorId: 'CannotConvertArgumentNoMessage', category: 'InvalidArgument', targetObject: name },
    );
  return Math.trunc(n);
}

function toText(v: SessionOptionValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') return 'value' in v ? String(v.value) : undefined;
  return String(v);
}

/** A .NET culture name (BCP 47 shape): `en-US`, `de-DE`, `zh-Hans-CN`. */
const CULTURE = /^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$/;

function cultureOption(v: SessionOptionValue | undefined, fallback: string, name: string): string {
  const text = toText(v);
  if (text === undefined || text === '') return fallback;
  if (!CULTURE.test(text))
    throw new PSRemotingError(
      `Cannot bind parameter 'SessionOption'. Cannot create object of type "${SESSION_OPTION}". Culture is not supported. (Parameter 'name') ${text} is an invalid culture identifier.`,
      { errorId: 'CannotConvertArgumentNoMessage', category: 'InvalidArgument', targetObject: name },
    );
  return text;
}

/**
 * The user's culture as .NET on Unix derives it from the locale environment (LC_ALL, then the category, then LANG):
 * `de_DE.UTF-8` is `de-DE`; `C`, `POSIX` or nothing is en-US (psremote's choice for the invariant culture, which
 * has no name to put in `xml:lang`).
 */
export function cultureFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  category: 'LC_MESSAGES' | 'LC_NUMERIC',
): string {
  const raw = env.LC_ALL || env[category] || env.LANG || '';
  const name = raw.replace(/[.@].*$/, '').replace(/_/g, '-');
  return name && name !== 'C' && name !== 'POSIX' && CULTURE.test(name) ? name : 'en-US';
}

/** The WinRM view of the session options: core's timeouts plus the PSSessionOption properties WinRM uses. */
export function winrmSessionOptions(
  options: ResolvedSessionOptions,
  env: Readonly<Record<string, string | undefined>>,
): WinrmSessionOptions {
  const p = options.passThrough;
  const maxRedirection = toInt(
    lookup(p, 'MaximumConnectionRedirectionCount'),
    5,
    'MaximumConnectionRedirectionCount',
  );
  return {
    openTimeoutMs: options.openTimeoutMs,
    cancelTimeoutMs: options.cancelTimeoutMs,
    // WSMan takes whole seconds at least; 0 would be refused by the server.
    operationTimeoutSeconds: Math.max(1, Math.round(options.operationTimeoutMs / 1000)),
    idleTimeoutMs: options.idleTimeoutMs,
    skipCACheck: toBool(lookup(p, 'SkipCACheck')),
    skipCNCheck: toBool(lookup(p, 'SkipCNCheck')),
    skipRevocationCheck: toBool(lookup(p, 'SkipRevocationCheck')),
    noEncryption: toBool(lookup(p, 'NoEncryption')),
    noMachineProfile: toBool(lookup(p, 'NoMachineProfile')),
    includePortInSpn: toBool(lookup(p, 'IncludePortInSPN')),
    maximumRedirection: maxRedirection < 0 ? Number.MAX_SAFE_INTEGER : maxRedirection,
    culture: cultureOption(lookup(p, 'Culture'), cultureFromEnv(env, 'LC_NUMERIC'), 'Culture'),
    uiCulture: cultureOption(lookup(p, 'UICulture'), cultureFromEnv(env, 'LC_MESSAGES'), 'UICulture'),
  };
}
