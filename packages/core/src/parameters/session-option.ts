import { PSRemotingError } from '../errors/ps-remoting-error.ts';
import { type ArgumentValue, formatDoubleText, parseNumber, parseValue } from './arguments.ts';
import { convert } from './conversion.ts';
import type { ParameterMetadata } from './metadata-types.ts';
import type { BoundValue } from './types.ts';

/**
 * What psremote does with Enter-PSSession's `-SessionOption`: the client-side timeouts and receive limits, in
 * the units the session and the transports use. Everything else a PSSessionOption carries (proxy, SkipCACheck,
 * Culture...) is kept in `passThrough` for transports that know it (WinRM).
 */
export interface ResolvedSessionOptions {
  /** Bound on the whole open: transport connect plus runspace-pool open (PSSessionOption.OpenTimeout). */
  readonly openTimeoutMs: number;
  /** Bound on a cancel (Ctrl+C's stop, a close) to complete (PSSessionOption.CancelTimeout); 0: no bound. */
  readonly cancelTimeoutMs: number;
  /** PSSessionOption.OperationTimeout (WSMan operations). */
  readonly operationTimeoutMs: number;
  /** PSSessionOption.IdleTimeout; -1: the server's default. */
  readonly idleTimeoutMs: number;
  /** Largest object (its fragments' bytes) accepted from the server; null: unlimited. */
  readonly maximumReceivedObjectSize: number | null;
  /** Most bytes accepted for one command; null: unlimited. */
  readonly maximumReceivedDataSizePerCommand: number | null;
  /** The other PSSessionOption properties, as given (canonical property name -> value). */
  readonly passThrough: Readonly<Record<string, SessionOptionValue>>;
}

/** A value in a -SessionOption hashtable: typed (ArgumentValue or a JS primitive) or the binder's text. */
export type SessionOptionValue = ArgumentValue | string | number | bigint | boolean | null;

const MS = 10_000; // TimeSpan ticks per millisecond
const INT32_MAX = 2_147_483_647;

/**
 * psremote's defaults. The timeouts are PSSessionOption's (RunspaceConnectionInfo.cs: OpenTimeout and
 * OperationTimeout 3 min, CancelTimeout 1 min = BaseTransportManager.ClientCloseTimeoutMs, IdleTimeout -1 = the
 * server's). The receive limits are those of PowerShell's OutOfProc client, which every psremote transport but
 * WinRM is: MaximumReceivedObjectSize 10 MB (BaseTransportManager.MaximumReceivedObjectSize, set by
 * OutOfProcTransportManager) and no per-command limit (RunspaceConnectionInfo: "Default is unlimited data"). The
 * 50 MB BaseTransportManager.MaximumReceivedDataSize is the server's limit on data from the client, not this.
 */
export const DEFAULT_SESSION_OPTIONS: ResolvedSessionOptions = Object.freeze({
  openTimeoutMs: 3 * 60 * 1000,
  cancelTimeoutMs: 60 * 1000,
  operationTimeoutMs: 3 * 60 * 1000,
  idleTimeoutMs: -1,
  maximumReceivedObjectSize: 10 << 20,
  maximumReceivedDataSizePerCommand: null,
  passThrough: Object.freeze({}),
});

const TIMESPANS = {
  opentimeout: 'OpenTimeout',
  canceltimeout: 'CancelTimeout',
  operationtimeout: 'OperationTimeout',
  idletimeout: 'IdleTimeout',
} as const;
const NULLABLE_INTS = {
  maximumreceivedobjectsize: 'MaximumReceivedObjectSize',
  maximumreceiveddatasizepercommand: 'MaximumReceivedDataSizePerCommand',
} as const;

const PSSESSIONOPTION = 'System.Management.Automation.Remoting.PSSessionOption';

/** PowerShell's binding error for a -SessionOption hashtable value LanguagePrimitives cannot convert. */
function conversionError(detail: string, value: unknown): PSRemotingError {
  return new PSRemotingError(
    `Cannot bind parameter 'SessionOption'. Cannot create object of type "${PSSESSIONOPTION}". ${detail}`,
    { errorId: 'CannotConvertArgumentNoMessage', category: 'InvalidArgument', targetObject: value },
  );
}

/**
 * Resolves the bound -SessionOption (a hashtable, as pwsh converts it to a PSSessionOption) over psremote's
 * defaults. Values convert as LanguagePrimitives converts them (checked against pwsh 7.6):
 * - TimeSpan properties: an integer is TICKS (`@{OpenTimeout=5000}` is 0.5 ms), a string is TimeSpan.Parse
 *   (`'00:00:05'`; a bare `'5'` is 5 days), a double goes through its text, `$null` and booleans are errors.
 *   The result becomes milliseconds as RunspaceConnectionInfo.TimeSpanToTimeOutMs does: truncated, and a
 *   negative or too-large span is Int32.MaxValue.
 * - MaximumReceived*: `$null` is unlimited; integers are kept as given (0 or a negative one refuses every object,
 *   as PowerShell's check `size < 0 || size > max` does); doubles round to even; strings parse as numbers
 *   (`'1kb'`, `'0x10'`, `''` is 0); a value outside Int32 is an error.
 * The binder's current value flattens the hashtable to text, so `'5000'` and `5000` cannot be told apart there:
 * digits are taken as the integer that was typed, and an empty text as `$null`.
 */
export function resolveSessionOptions(
  value: BoundValue | Readonly<Record<string, SessionOptionValue>> | undefined,
): ResolvedSessionOptions {
  if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value))
    return DEFAULT_SESSION_OPTIONS;
  const out: {
    -readonly [K in keyof ResolvedSessionOptions]: ResolvedSessionOptions[K];
  } = { ...DEFAULT_SESSION_OPTIONS, passThrough: {} };
  const passThrough: Record<string, SessionOptionValue> = {};
  for (const [key, raw] of Object.entries(value as Record<string, SessionOptionValue>)) {
    const lower = key.toLowerCase();
    if (lower in TIMESPANS) {
      const ms = timeSpanToTimeoutMs(toTimeSpanTicks(raw));
      switch (lower as keyof typeof TIMESPANS) {
        case 'opentimeout':
          out.openTimeoutMs = ms;
          break;
        case 'canceltimeout':
          out.cancelTimeoutMs = ms;
          break;
        case 'operationtimeout':
          out.operationTimeoutMs = ms;
          break;
        case 'idletimeout':
          out.idleTimeoutMs = idleTimeoutMs(toTimeSpanTicks(raw));
          break;
      }
    } else if (lower in NULLABLE_INTS) {
      const n = toNullableInt32(raw);
      if (lower === 'maximumreceivedobjectsize') out.maximumReceivedObjectSize = n;
      else out.maximumReceivedDataSizePerCommand = n;
    } else {
      passThrough[key] = raw;
    }
  }
  out.passThrough = Object.freeze(passThrough);
  return Object.freeze(out);
}

/** PSSessionOption's settable properties (LanguagePrimitives builds one from a hashtable of these). */
const SETTABLE = [
  'MaximumConnectionRedirectionCount',
  'NoCompression',
  'NoMachineProfile',
  'ProxyAccessType',
  'ProxyAuthentication',
  'ProxyCredential',
  'SkipCACheck',
  'SkipCNCheck',
  'SkipRevocationCheck',
  'OperationTimeout',
  'NoEncryption',
  'UseUTF16',
  'IncludePortInSPN',
  'OutputBufferingMode',
  'MaxConnectionRetryCount',
  'Culture',
  'UICulture',
  'MaximumReceivedDataSizePerCommand',
  'MaximumReceivedObjectSize',
  'ApplicationArguments',
  'OpenTimeout',
  'CancelTimeout',
  'IdleTimeout',
];

const SESSION_OPTION_PARAMETER = {
  name: 'SessionOption',
  type: PSSESSIONOPTION,
} as ParameterMetadata;

/**
 * psremote's `--session-option '@{...}'` (the `$PSSessionOption` preference variable of psremote: it applies to
 * every transport, where Enter-PSSession's -SessionOption binds only with -ComputerName and -ConnectionUri). The
 * text is parsed as a command-mode argument, so values keep their PowerShell types (5000 is an Int32, '5000' a
 * string), and an unknown property is PowerShell's error.
 */
export function parseSessionOptionText(
  text: string,
  env: Readonly<Record<string, string | undefined>> = {},
): Record<string, SessionOptionValue> {
  const v = parseValue(text, env);
  if (v.kind !== 'hashtable') {
    throw new PSRemotingError(
      `Cannot bind parameter 'SessionOption'. Cannot convert the "${text}" value to type "${PSSESSIONOPTION}": --session-option takes a hashtable, @{OpenTimeout='00:00:30'}.`,
      { errorId: 'CannotConvertArgumentNoMessage', category: 'InvalidArgument', targetObject: text },
    );
  }
  // Each value must convert to its property's type, exactly as where Enter-PSSession binds -SessionOption.
  const checked = convert(SESSION_OPTION_PARAMETER, v, true);
  if (!checked.ok && checked.error) throw checked.error;
  const out: Record<string, SessionOptionValue> = {};
  for (const [key, value] of v.entries) {
    const name = SETTABLE.find((n) => n.toLowerCase() === key.toLowerCase());
    if (!name) {
      throw conversionError(
        `The property '${key}' was not found for the '${PSSESSIONOPTION}' object. The settable properties are: ${SETTABLE.join(', ')}.`,
        key,
      );
    }
    out[name] = value;
  }
  return out;
}

// ---- conversions ----------------------------------------------------------------------------------------

type Typed =
  | { kind: 'null' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'int'; value: bigint; text: string }
  | { kind: 'double'; value: number; text: string }
  | { kind: 'string'; value: string };

/** The value as LanguagePrimitives sees it. The binder's flattened text: digits are the integer that was typed. */
function typed(v: SessionOptionValue): Typed {
  if (v === null) return { kind: 'null' };
  if (typeof v === 'boolean') return { kind: 'bool', value: v };
  if (typeof v === 'bigint') return { kind: 'int', value: v, text: String(v) };
  if (typeof v === 'number') {
    return Number.isInteger(v)
      ? { kind: 'int', value: BigInt(v), text: String(v) }
      : { kind: 'double', value: v, text: formatDoubleText(v) };
  }
  if (typeof v === 'string') {
    // Flattened by the binder: '' was $null, a plain (possibly negative) integer was typed as one.
    if (v === '') return { kind: 'null' };
    if (/^-?\d+$/.test(v)) return { kind: 'int', value: BigInt(v), text: v };
    if (v === 'True' || v === 'False') return { kind: 'bool', value: v === 'True' };
    return { kind: 'string', value: v };
  }
  switch (v.kind) {
    case 'null':
      return { kind: 'null' };
    case 'bool':
      return { kind: 'bool', value: v.value };
    case 'int':
      return { kind: 'int', value: BigInt(v.value), text: String(v.value) };
    case 'long':
      return { kind: 'int', value: v.value, text: String(v.value) };
    case 'double':
      return { kind: 'double', value: v.value, text: formatDoubleText(v.value) };
    case 'string':
      return { kind: 'string', value: v.value };
    case 'array':
      return { kind: 'string', value: 'System.Object[]' };
    case 'hashtable':
      return { kind: 'string', value: 'System.Collections.Hashtable' };
    case 'scriptblock':
      return { kind: 'string', value: v.text };
  }
}

function describe(t: Typed): string {
  switch (t.kind) {
    case 'null':
      return '';
    case 'bool':
      return t.value ? 'True' : 'False';
    case 'string':
      return t.value;
    default:
      return t.text;
  }
}

const TICKS_MAX = 9_223_372_036_854_775_807n;
const TICKS_MIN = -9_223_372_036_854_775_808n;

/** LanguagePrimitives to System.TimeSpan: integers are ticks, everything else goes through TimeSpan.Parse. */
function toTimeSpanTicks(raw: SessionOptionValue): bigint {
  const t = typed(raw);
  switch (t.kind) {
    case 'null':
      throw conversionError('Cannot convert null to type "System.TimeSpan".', null);
    case 'bool':
      throw conversionError(
        `Cannot convert value "${describe(t)}" to type "System.TimeSpan". Error: "Invalid cast from 'System.Boolean' to 'System.TimeSpan'."`,
        raw,
      );
    case 'int':
      if (t.value > TICKS_MAX || t.value < TICKS_MIN)
        throw conversionError(
          `Cannot convert value "${t.text}" to type "System.TimeSpan". Error: "Value was either too large or too small for an Int64."`,
          raw,
        );
      return t.value;
    default:
      return parseTimeSpan(describe(t), raw);
  }
}

/**
 * .NET's TimeSpan.Parse (invariant culture): `[-]d`, `[-][d.]h:m[:s[.f]]`, `[-]d:h:m:s[.f]`; hours under 24,
 * minutes and seconds under 60, at most 7 fraction digits, at most 10675199 days.
 */
export function parseTimeSpan(text: string, raw: unknown = text): bigint {
  const notRecognized = () =>
    conversionError(
      `Cannot convert value "${text}" to type "System.TimeSpan". Error: "String '${text}' was not recognized as a valid TimeSpan."`,
      raw,
    );
  const outOfRange = () =>
    conversionError(
      `Cannot convert value "${text}" to type "System.TimeSpan". Error: "The TimeSpan string '${text}' could not be parsed because at least one of the numeric components is out of range or contains too many digits."`,
      raw,
    );
  const s = text.trim();
  // [-]d | [-]d:h:m:s[.f] | [-][d.]h:m[:s[.f]]
  const plain = /^(-)?(\d+)$/.exec(s);
  const four = /^(-)?(\d+):(\d+):(\d+):(\d+)(?:\.(\d+))?$/.exec(s);
  const clock = /^(-)?(?:(\d+)\.)?(\d+):(\d+)(?::(\d+)(?:\.(\d+))?)?$/.exec(s);
  let parts: readonly (string | undefined)[];
  if (plain) parts = [plain[1], plain[2]];
  else if (four) parts = four.slice(1);
  else if (clock) parts = clock.slice(1);
  else throw notRecognized();
  const neg = parts[0] === '-';
  const num = (i: number) => BigInt(parts[i] ?? '0');
  const days = num(1);
  const hours = num(2);
  const minutes = num(3);
  const seconds = num(4);
  const fraction = parts[5] ?? '';
  if (hours > 23n || minutes > 59n || seconds > 59n || fraction.length > 7 || days > 10_675_199n)
    throw outOfRange();
  const ticks =
    (((days * 24n + hours) * 60n + minutes) * 60n + seconds) * 10_000_000n +
    BigInt(fraction.padEnd(7, '0') || '0');
  if (ticks > TICKS_MAX) throw outOfRange();
  return neg ? -ticks : ticks;
}

/** RunspaceConnectionInfo.TimeSpanToTimeOutMs: a negative or too large span (or TimeSpan.MaxValue) is Int32.MaxValue. */
function timeSpanToTimeoutMs(ticks: bigint): number {
  if (ticks < 0n || ticks === TICKS_MAX) return INT32_MAX;
  const ms = ticks / BigInt(MS);
  return ms > BigInt(INT32_MAX) ? INT32_MAX : Number(ms);
}

/** RunspaceConnectionInfo.SetSessionOptions: IdleTimeout keeps -1 ms (the server's default) and up. */
function idleTimeoutMs(ticks: bigint): number {
  const ms = Number(ticks) / MS;
  return ms >= -1 && ms < INT32_MAX ? Math.trunc(ms) : INT32_MAX;
}

/** LanguagePrimitives to Nullable<Int32>. */
function toNullableInt32(raw: SessionOptionValue): number | null {
  const t = typed(raw);
  const tooBig = (text: string) =>
    conversionError(
      `Cannot convert value "${text}" to type "System.Int32". Error: "Value was either too large or too small for an Int32."`,
      raw,
    );
  switch (t.kind) {
    case 'null':
      return null;
    case 'bool':
      return t.value ? 1 : 0;
    case 'int':
      if (t.value > BigInt(INT32_MAX) || t.value < -2_147_483_648n) throw tooBig(t.text);
      return Number(t.value);
    case 'double':
      return doubleToInt32(t.value, t.text, tooBig);
    case 'string': {
      const s = t.value.trim();
      const n = s === '' ? ({ kind: 'int', value: 0, text: '0' } as const) : parseNumber(s);
      if (!n || n.kind === 'string' || n.kind === 'bool' || n.kind === 'null' || !('value' in n))
        throw conversionError(
          `Cannot convert value "${t.value}" to type "System.Int32". Error: "The input string '${t.value}' was not in a correct format."`,
          raw,
        );
      if (n.kind === 'double') return doubleToInt32(n.value, t.value, tooBig);
      const big = BigInt(n.value as number | bigint);
      if (big > BigInt(INT32_MAX) || big < -2_147_483_648n) throw tooBig(t.value);
      return Number(big);
    }
  }
}

/** Convert.ToInt32(double): round half to even; NaN or out of range is an overflow. */
function doubleToInt32(d: number, text: string, tooBig: (text: string) => PSRemotingError): number {
  if (!Number.isFinite(d)) throw tooBig(text);
  const floor = Math.floor(d);
  const diff = d - floor;
  let r = diff > 0.5 ? floor + 1 : diff < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1;
  if (Object.is(r, -0)) r = 0;
  if (r > INT32_MAX || r < -2_147_483_648) throw tooBig(text);
  return r;
}
