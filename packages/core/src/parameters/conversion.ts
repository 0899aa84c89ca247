// Argument conversion: ParameterBinderBase.CoerceTypeAsNeeded and LanguagePrimitives for the types Enter-PSSession's
// parameters have, with their exact error texts.
import type { PSRemotingError } from '../errors/ps-remoting-error.ts';
import { type ArgumentValue, formatDoubleText, parseNumber, valueText, valueTypeName } from './arguments.ts';
import { bindError } from './messages.ts';
import type { ParameterMetadata } from './metadata-types.ts';
import type { BoundValue } from './types.ts';

const ENUMS: Record<string, EnumType> = {
  'System.Management.Automation.Runspaces.AuthenticationMechanism': {
    names: [
      'Default',
      'Basic',
      'Negotiate',
      'NegotiateWithImplicitCredential',
      'Credssp',
      'Digest',
      'Kerberos',
    ],
  },
  'System.Management.Automation.ActionPreference': {
    names: ['SilentlyContinue', 'Stop', 'Continue', 'Inquire', 'Ignore', 'Suspend', 'Break'],
  },
  // The property types of PSSessionOption that are enums (PSRemotingCmdlet.cs, RunspaceConnectionInfo.cs).
  'System.Management.Automation.Remoting.ProxyAccessType': {
    names: ['None', 'IEConfig', 'WinHttpConfig', 'AutoDetect', 'NoProxyServer'],
    values: [0, 1, 2, 4, 8],
  },
  'System.Management.Automation.Runspaces.OutputBufferingMode': { names: ['None', 'Drop', 'Block'] },
};

export type Converted = { ok: true; value: BoundValue } | { ok: false; error: PSRemotingError | undefined };

const NO = { ok: false, error: undefined } as const;

function cannotConvertValue(p: ParameterMetadata, v: ArgumentValue, detail: string): PSRemotingError {
  return bindError(
    'CannotConvertArgumentNoMessage',
    `Cannot bind parameter '${p.name}'. Cannot convert value "${valueText(v)}" to type "${p.type}". Error: "${detail}"`,
  );
}

/** A value as .NET's ToString() gives it: numbers by value (0x1F is 31), not as typed. */
export function dotnetText(v: ArgumentValue): string {
  if (v.kind === 'double') {
    // A Decimal keeps the digits it was written with (7.50d is 7.50).
    const m = v.decimal ? /^([+-]?)(\d+(?:\.\d+)?)d$/i.exec(v.text) : null;
    if (m) return `${m[1] === '-' ? '-' : ''}${m[2]}`;
    return formatDoubleText(v.value);
  }
  if (v.kind === 'int' || v.kind === 'long') return String(v.value);
  return valueText(v);
}

function cannotConvertType(p: ParameterMetadata, v: ArgumentValue): PSRemotingError {
  return bindError(
    'CannotConvertArgumentNoMessage',
    `Cannot bind parameter '${p.name}'. Cannot convert the "${dotnetText(v)}" value of type "${valueTypeName(v)}" to type "${p.type}".`,
  );
}

function cannotConvertArray(p: ParameterMetadata): PSRemotingError {
  return bindError(
    'CannotConvertArgument',
    `Cannot convert 'System.Object[]' to the type '${p.type}' required by parameter '${p.name}'. Specified method is not supported.`,
  );
}

/** Banker's rounding, as [int] on a double. */
function roundHalfEven(d: number): number {
  const r = Math.round(d);
  return Math.abs(d % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function toInt32(p: ParameterMetadata, v: ArgumentValue): Converted {
  const range = (n: number | bigint, text: string): Converted => {
    if (n < -2147483648 || n > 2147483647) {
      return {
        ok: false,
        error: cannotConvertValue(
          p,
          { kind: 'string', value: text },
          'Value was either too large or too small for an Int32.',
        ),
      };
    }
    // `|| 0`: rounding -0.5 gives -0, which an Int32 does not have.
    return { ok: true, value: Number(n) || 0 };
  };
  switch (v.kind) {
    case 'int':
      return { ok: true, value: v.value };
    case 'long':
      return range(v.value, v.text);
    case 'double':
      // The message shows the Double as .NET prints it (1.5e10 is 15000000000).
      return range(roundHalfEven(v.value), formatDoubleText(v.value));
    case 'bool':
      return { ok: true, value: v.value ? 1 : 0 };
    case 'null':
      // The compiled cmdlet's Int32 property setter refuses a null.
      return {
        ok: false,
        error: bindError(
          'ParameterBindingFailed',
          `Cannot bind parameter '${p.name}' to the target. Exception setting "${p.name}": "Cannot convert null to type "System.Int32"."`,
          'WriteError',
        ),
      };
    case 'string': {
      const t = v.value.trim();
      // LanguagePrimitives: an empty or blank string converts to 0.
      if (t === '') return { ok: true, value: 0 };
      const n = parseNumber(t);
      const formatError = cannotConvertValue(
        p,
        v,
        `The input string '${v.value}' was not in a correct format.`,
      );
      // A string holding a Double too large for an Int32 reports the failed Int32 parse, not the overflow.
      if (n?.kind === 'double' && Math.abs(roundHalfEven(n.value)) > 2147483647)
        return { ok: false, error: formatError };
      if (n && (n.kind === 'int' || n.kind === 'long' || n.kind === 'double')) return toInt32(p, n);
      return { ok: false, error: formatError };
    }
    case 'array':
      return { ok: false, error: cannotConvertArray(p) };
    default:
      return { ok: false, error: cannotConvertType(p, v) };
  }
}

/** A Boolean is IConvertible: its conversion to a reference type fails as an invalid cast. */
function invalidCast(p: ParameterMetadata, v: ArgumentValue): PSRemotingError {
  return cannotConvertValue(p, v, `Invalid cast from '${valueTypeName(v)}' to '${p.type}'.`);
}

/**
 * System.Uri from text: a relative reference is accepted (the cmdlet checks it later); an absolute one needs a
 * host and a port in range, with .NET's UriFormatException texts.
 */
function toUri(p: ParameterMetadata, v: ArgumentValue): Converted {
  const text = valueText(v);
  // The schemes remoting uses need a host (file:/// has none and is a valid Uri).
  const m = /^https?:\/\/([^/?#]*)/i.exec(text.trim());
  if (m) {
    const authority = (m[1] as string).replace(/^[^@]*@/, '');
    const hostEnd = authority.startsWith('[') ? authority.indexOf(']') + 1 : authority.lastIndexOf(':');
    const host = hostEnd >= 0 ? authority.slice(0, hostEnd) : authority;
    const port = hostEnd >= 0 && authority[hostEnd] === ':' ? authority.slice(hostEnd + 1) : '';
    if (host === '' || /[\s<>"{}|\\^`]/.test(host))
      return { ok: false, error: cannotConvertValue(p, v, 'Invalid URI: The hostname could not be parsed.') };
    if (port !== '' && (!/^\d+$/.test(port) || Number(port) > 65535))
      return { ok: false, error: cannotConvertValue(p, v, 'Invalid URI: Invalid port specified.') };
  }
  return { ok: true, value: text };
}

function toStringValue(p: ParameterMetadata, v: ArgumentValue): Converted {
  switch (v.kind) {
    case 'null':
      // A compiled cmdlet keeps a null for a string parameter (ParameterBinderBase.HandleNullParameterForSpecialTypes).
      return { ok: true, value: null };
    case 'array':
      return { ok: false, error: cannotConvertArray(p) };
    default:
      return { ok: true, value: valueText(v) };
  }
}

const GUID_D = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toGuid(p: ParameterMetadata, v: ArgumentValue): Converted {
  if (v.kind === 'null') {
    return {
      ok: false,
      error: bindError(
        'CannotConvertArgumentNoMessage',
        `Cannot bind parameter '${p.name}'. Cannot convert null to type "System.Guid".`,
      ),
    };
  }
  if (v.kind === 'array') return { ok: false, error: cannotConvertArray(p) };
  if (v.kind === 'bool') return { ok: false, error: invalidCast(p, v) };
  // LanguagePrimitives builds a Guid from a hashtable through its (absent) settable properties: @{} is Guid.Empty.
  if (v.kind === 'hashtable' && v.entries.length === 0)
    return { ok: true, value: '00000000-0000-0000-0000-000000000000' };
  if (v.kind === 'hashtable') {
    return {
      ok: false,
      error: bindError(
        'CannotConvertArgumentNoMessage',
        `Cannot bind parameter '${p.name}'. Cannot create object of type "${p.type}". The property '${v.entries[0]?.[0]}' was not found for the '${p.type}' object. There is no settable property available.`,
      ),
    };
  }
  const t = valueText(v).trim();
  let s = t;
  if (/^\{.*\}$|^\(.*\)$/.test(s)) s = s.slice(1, -1);
  if (/^[0-9a-f]{32}$/i.test(s))
    s = `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  if (GUID_D.test(s)) return { ok: true, value: s.toLowerCase() };
  return { ok: false, error: cannotConvertValue(p, v, 'Unrecognized Guid format.') };
}

function enumValuesNotValid(p: ParameterMetadata, shown: string, names: readonly string[]): string {
  return `Cannot convert value "${shown}" to type "${p.type}" due to enumeration values that are not valid. Specify one of the following enumeration values and try again. The possible enumeration values are "${names.join(',')}".`;
}

/** An enum's names in declaration order and their values (by default their indexes). */
interface EnumType {
  readonly names: readonly string[];
  readonly values?: readonly number[];
}

function enumValue(e: EnumType, name: string): number | undefined {
  const i = e.names.findIndex((n) => n.toLowerCase() === name.toLowerCase());
  return i < 0 ? undefined : (e.values?.[i] ?? i);
}

function enumName(e: EnumType, n: number): string | undefined {
  const i = e.values ? e.values.indexOf(n) : Number.isInteger(n) && n >= 0 ? n : -1;
  return e.names[i];
}

/** LanguagePrimitives' enum conversion: a defined number, an exact name, else a unique name prefix. */
function toEnum(p: ParameterMetadata, v: ArgumentValue, e: EnumType): Converted {
  const names = e.names;
  const invalid = (shown: string): Converted => ({
    ok: false,
    error: bindError(
      'CannotConvertArgumentNoMessage',
      `Cannot bind parameter '${p.name}'. ${enumValuesNotValid(p, shown, names)}`,
    ),
  });
  if (v.kind === 'null') {
    // The null reaches the property setter, which refuses it (ParameterBindingFailed, WriteError).
    const why = enumValuesNotValid(p, 'null', names).replace('value "null"', 'null');
    return {
      ok: false,
      error: bindError(
        'ParameterBindingFailed',
        `Cannot bind parameter '${p.name}' to the target. Exception setting "${p.name}": "${why}"`,
        'WriteError',
      ),
    };
  }
  // An integer is taken by value; a Double or Decimal goes through its text, as typed (1e2 is no name).
  if (v.kind === 'int' || v.kind === 'long') {
    const name = enumName(e, Number(v.value));
    return name === undefined ? invalid(dotnetText(v)) : { ok: true, value: name };
  }
  if (v.kind === 'bool') return { ok: false, error: invalidCast(p, v) };
  // A hashtable sets the enum's properties: it has none but value__, so only @{} converts (to the value 0).
  if (v.kind === 'hashtable') {
    const [first] = v.entries;
    if (!first) return { ok: true, value: enumName(e, 0) as string };
    return {
      ok: false,
      error: bindError(
        'CannotConvertArgumentNoMessage',
        `Cannot bind parameter '${p.name}'. Cannot create object of type "${p.type}". The property '${first[0]}' was not found for the '${p.type}' object. The settable properties are: [value__ <System.Int32>].`,
      ),
    };
  }
  // ConvertEnumerableToEnum: a list's strings are kept, its other elements converted one by one to names, and
  // the whole joined with commas; a null element cannot convert.
  if (v.kind === 'array') {
    const parts: string[] = [];
    for (const item of v.items) {
      if (item.kind === 'string') parts.push(item.value);
      else if (item.kind === 'null') {
        return {
          ok: false,
          error: bindError(
            'CannotConvertArgumentNoMessage',
            `Cannot bind parameter '${p.name}'. ${enumValuesNotValid(p, 'null', names).replace('value "null"', 'null')}`,
          ),
        };
      } else {
        const r = toEnum(p, item, e);
        if (!r.ok) return r;
        parts.push(r.value as string);
      }
    }
    return enumFromString(p, parts.join(','), e);
  }
  return enumFromString(p, valueText(v), e);
}

/**
 * ConvertStringToEnum: Enum.Parse first (names or integers separated by commas, each trimmed, ORed, and the
 * result must be a defined value of these non-[Flags] enums: -ErrorAction Continue,Stop is Inquire); else
 * EnumMinimumDisambiguation takes the whole text, untrimmed, as a name prefix.
 */
function enumFromString(p: ParameterMetadata, raw: string, e: EnumType): Converted {
  const names = e.names;
  const shown: ArgumentValue = { kind: 'string', value: raw };
  const parts = raw.split(',').map((x) => x.trim());
  const parsed = parts.map((x) =>
    /^[+-]?\d+$/.test(x) ? Number(x) : x === '' ? undefined : enumValue(e, x),
  );
  if (parsed.every((x) => x !== undefined)) {
    if (parsed.some((x) => x < -2147483648 || x > 2147483647))
      return {
        ok: false,
        error: cannotConvertValue(p, shown, 'Value was either too large or too small for an Int32.'),
      };
    const name = enumName(
      e,
      parsed.reduce((a, x) => a | x, 0),
    );
    if (name !== undefined) return { ok: true, value: name };
    return {
      ok: false,
      error: bindError(
        'CannotConvertArgumentNoMessage',
        `Cannot bind parameter '${p.name}'. ${enumValuesNotValid(p, raw, names)}`,
      ),
    };
  }
  const prefixed = names.filter((n) => n.toLowerCase().startsWith(raw.toLowerCase()));
  if (prefixed.length === 1) return { ok: true, value: prefixed[0] as string };
  if (prefixed.length > 1) {
    return {
      ok: false,
      error: cannotConvertValue(
        p,
        shown,
        `The identifier name ${raw} cannot be processed because it is either too similar or identical to the following enumerator names: ${prefixed.join(', ')}. Use a more specific identifier name.`,
      ),
    };
  }
  return {
    ok: false,
    error: cannotConvertValue(
      p,
      shown,
      `Unable to match the identifier name ${raw} to a valid enumerator name. Specify one of the following enumerator names and try again:\n${names.join(', ')}`,
    ),
  };
}

// The settable properties of PSSessionOption, as LanguagePrimitives lists them when a hashtable names another.
const SESSION_OPTION_PROPERTIES =
  '[MaximumConnectionRedirectionCount <System.Int32>], [NoCompression <System.Boolean>], [NoMachineProfile <System.Boolean>], [ProxyAccessType <System.Management.Automation.Remoting.ProxyAccessType>], [ProxyAuthentication <System.Management.Automation.Runspaces.AuthenticationMechanism>], [ProxyCredential <System.Management.Automation.PSCredential>], [SkipCACheck <System.Boolean>], [SkipCNCheck <System.Boolean>], [SkipRevocationCheck <System.Boolean>], [OperationTimeout <System.TimeSpan>], [NoEncryption <System.Boolean>], [UseUTF16 <System.Boolean>], [IncludePortInSPN <System.Boolean>], [OutputBufferingMode <System.Management.Automation.Runspaces.OutputBufferingMode>], [MaxConnectionRetryCount <System.Int32>], [Culture <System.Globalization.CultureInfo>], [UICulture <System.Globalization.CultureInfo>], [MaximumReceivedDataSizePerCommand <System.Nullable`1[[System.Int32, System.Private.CoreLib, Version=10.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e]]>], [MaximumReceivedObjectSize <System.Nullable`1[[System.Int32, System.Private.CoreLib, Version=10.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e]]>], [ApplicationArguments <System.Management.Automation.PSPrimitiveDictionary>], [OpenTimeout <System.TimeSpan>], [CancelTimeout <System.TimeSpan>], [IdleTimeout <System.TimeSpan>]';

const SESSION_OPTION_TYPES = new Map(
  [...SESSION_OPTION_PROPERTIES.matchAll(/\[(\w+) <([^>]+)>\]/g)].map((m) => [
    (m[1] as string).toLowerCase(),
    m[2] as string,
  ]),
);

/**
 * TimeSpan.Parse (invariant): `[-]d` or `[-][d.]hh:mm[:ss[.fffffff]]` (also `d:hh:mm:ss`), hours below 24, minutes
 * and seconds below 60. The .NET texts of its two failures, or undefined when the text parses.
 */
function timeSpanParseError(text: string): string | undefined {
  const m = /^\s*-?(?:(\d+)|(?:(\d+)[.:])?(\d+):(\d+)(?::(\d+)(?:\.(\d+))?)?)\s*$/.exec(text);
  if (!m) return `String '${text}' was not recognized as a valid TimeSpan.`;
  const [, days, d, hh, mm, ss, ff] = m;
  const over =
    Number(days ?? d ?? 0) > 10675199 ||
    Number(hh ?? 0) > 23 ||
    Number(mm ?? 0) > 59 ||
    Number(ss ?? 0) > 59 ||
    (ff ?? '').length > 7;
  if (over)
    return `The TimeSpan string '${text}' could not be parsed because at least one of the numeric components is out of range or contains too many digits.`;
  return undefined;
}

/**
 * A culture name CultureInfo(name) accepts on .NET with ICU, as far as its shape goes: empty (the invariant
 * culture), or a language of 2-3 (or 5-8) letters and subtags of 1-8 letters or digits joined by `-` or `_`
 * (`en-US`, `en_US`, `xx-bogus`, `en-US-x-priv`). pwsh 7.6 refuses `a`, ` en-US`, `en US`, `-en`, `en-`, `2.5`, `é`.
 */
const CULTURE_NAME = /^(?:(?:[A-Za-z]{2,3}|[A-Za-z]{5,8})(?:[-_][A-Za-z0-9]{1,8})*)?$/;
/** Longest culture name CultureInfo takes (LocaleNameMaxLength less its terminator). */
const CULTURE_NAME_MAX = 84;

/**
 * Culture / UICulture of a PSSessionOption hashtable: a name is checked as CultureInfo checks it; a number is an LCID
 * (left to the transport); $true, a list, a hashtable or a script block do not convert (pwsh 7.6's texts).
 */
function cultureValueError(
  v: ArgumentValue,
  shown: string,
  cannotConvertValue: (why: string) => string,
  cannotConvertType: () => string,
): string | undefined {
  if (v.kind === 'null' || v.kind === 'int') return undefined;
  if (v.kind === 'bool')
    return cannotConvertValue(`Invalid cast from 'System.Boolean' to 'System.Globalization.CultureInfo'.`);
  if (v.kind !== 'string' && v.kind !== 'double') return cannotConvertType();
  if (shown.length > CULTURE_NAME_MAX)
    return `Cannot convert value "${shown}" to type "System.Globalization.CultureInfo".`;
  if (v.kind === 'string' && CULTURE_NAME.test(shown)) return undefined;
  return cannotConvertValue(
    `Culture is not supported. (Parameter 'name')\n${shown} is an invalid culture identifier.`,
  );
}

/**
 * LanguagePrimitives sets each PSSessionOption property from the hashtable value converted to the property's type.
 * The reason a value does not convert (the text after "Cannot create object of type ..."), or undefined.
 */
function sessionOptionValueError(type: string, v: ArgumentValue): string | undefined {
  const shown = dotnetText(v);
  const cannotConvertValue = (why: string) =>
    `Cannot convert value "${shown}" to type "${type}". Error: "${why}"`;
  const cannotConvertType = () =>
    `Cannot convert the "${shown}" value of type "${valueTypeName(v)}" to type "${type}".`;
  if (type === 'System.Boolean') return undefined;
  if (type === 'System.Globalization.CultureInfo')
    return cultureValueError(v, shown, cannotConvertValue, cannotConvertType);
  // A list converts to none of the other property types but an enum (whose names it joins).
  if (v.kind === 'array' && !ENUMS[type]) return cannotConvertType();
  if (type.startsWith('System.Nullable`1[[System.Int32') || type === 'System.Int32') {
    if (v.kind === 'null') return undefined;
    const r = toInt32({ name: '', type: 'System.Int32' } as ParameterMetadata, v);
    return r.ok ? undefined : r.error?.message.replace(/^Cannot bind parameter ''\. /, '');
  }
  if (type === 'System.TimeSpan') {
    if (v.kind === 'null') return `Cannot convert null to type "${type}".`;
    if (v.kind === 'bool') return cannotConvertValue(`Invalid cast from 'System.Boolean' to '${type}'.`);
    if (v.kind === 'scriptblock') return cannotConvertType();
    // An integer is a count of ticks; a Double goes through its text.
    if (v.kind === 'string' || v.kind === 'double') {
      const why = timeSpanParseError(shown);
      return why === undefined ? undefined : cannotConvertValue(why);
    }
    return undefined;
  }
  const e = ENUMS[type];
  if (e) {
    // A number in an expression is a number, not command-mode text: a whole Double or Decimal is its value.
    if (v.kind === 'double' && Number.isInteger(v.value))
      return sessionOptionValueError(type, { kind: 'int', value: v.value, text: String(v.value) });
    if (v.kind === 'double') return sessionOptionValueError(type, { kind: 'string', value: shown });
    if (v.kind === 'null')
      return `Cannot convert null to type "${type}" due to enumeration values that are not valid. Specify one of the following enumeration values and try again. The possible enumeration values are "${e.names.join(',')}".`;
    const r = toEnum({ name: '', type } as ParameterMetadata, v, e);
    return r.ok ? undefined : r.error?.message.replace(/^Cannot bind parameter ''\. /, '');
  }
  if (type === 'System.Management.Automation.PSCredential')
    return v.kind === 'null' ? undefined : cannotConvertType();
  if (type === 'System.Management.Automation.PSPrimitiveDictionary')
    return v.kind === 'null' || v.kind === 'hashtable' ? undefined : cannotConvertType();
  return undefined;
}

/** Argument conversion (LanguagePrimitives) for the types Enter-PSSession's parameters have. */
export function convert(p: ParameterMetadata, v: ArgumentValue, coerce: boolean): Converted {
  // A script block reaches conversion only for a parameter that takes no pipeline input (bind.ts checks first):
  // it converts to a string as its text, and to nothing else.
  if (v.kind === 'scriptblock' && coerce && p.type !== 'System.String' && !p.isSwitch)
    return { ok: false, error: cannotConvertType(p, v) };
  if (!coerce) {
    // Binding without coercion: only a value of the parameter's own type (ParameterBinderController).
    const same =
      (p.type === 'System.String' && v.kind === 'string') ||
      (p.type === 'System.Int32' && v.kind === 'int') ||
      (p.type === 'System.Collections.Hashtable' && v.kind === 'hashtable') ||
      (v.kind === 'null' && !['System.String', 'System.Int32', 'System.Guid'].includes(p.type));
    if (!same) return NO;
  }
  if (v.kind === 'array' && p.type !== 'System.Management.Automation.SwitchParameter' && !ENUMS[p.type])
    return { ok: false, error: cannotConvertArray(p) };
  switch (p.type) {
    case 'System.String':
      return toStringValue(p, v);
    case 'System.Int32':
      return toInt32(p, v);
    case 'System.Guid':
      return toGuid(p, v);
    case 'System.Uri':
      if (v.kind === 'null') return { ok: true, value: null };
      if (v.kind === 'bool') return { ok: false, error: invalidCast(p, v) };
      if (v.kind === 'hashtable') return { ok: false, error: cannotConvertType(p, v) };
      return toUri(p, v);
    case 'System.Management.Automation.SwitchParameter':
      if (v.kind === 'bool') return { ok: true, value: v.value };
      if (v.kind === 'int' || v.kind === 'double') return { ok: true, value: v.value !== 0 };
      if (v.kind === 'long') return { ok: true, value: v.value !== 0n };
      // A compiled cmdlet takes a null switch argument as present (HandleNullParameterForSpecialTypes).
      if (v.kind === 'null') return { ok: true, value: true };
      // A string or an array is not taken as a switch value (ParameterBinderBase: CannotConvertArgument).
      return {
        ok: false,
        error: bindError(
          'CannotConvertArgument',
          `Cannot convert '${valueTypeName(v)}' to the type '${p.type}' required by parameter '${p.name}'. `,
        ),
      };
    case 'System.Collections.Hashtable':
    case 'System.Management.Automation.Remoting.PSSessionOption':
      // A PSSessionOption takes its property values from a hashtable, as PowerShell's conversion does.
      if (v.kind === 'null') return { ok: true, value: null };
      if (v.kind === 'bool') return { ok: false, error: invalidCast(p, v) };
      if (v.kind === 'hashtable') {
        const h: Record<string, string> = {};
        const createError = (why: string): Converted => ({
          ok: false,
          error: bindError(
            'CannotConvertArgumentNoMessage',
            `Cannot bind parameter '${p.name}'. Cannot create object of type "${p.type}". ${why}`,
          ),
        });
        const options = p.type !== 'System.Collections.Hashtable';
        // LanguagePrimitives builds a PSSessionOption from a hashtable: every key must be a settable property,
        // and then each value must convert to its property's type.
        const unknown = v.entries.find(([k]) => !SESSION_OPTION_TYPES.has(k.toLowerCase()));
        if (options && unknown) {
          return createError(
            `The property '${unknown[0]}' was not found for the '${p.type}' object. The settable properties are: ${SESSION_OPTION_PROPERTIES}.`,
          );
        }
        for (const [k, x] of v.entries) {
          const why = options
            ? sessionOptionValueError(SESSION_OPTION_TYPES.get(k.toLowerCase()) as string, x)
            : undefined;
          if (why !== undefined) return createError(why);
          h[k] = dotnetText(x);
        }
        return { ok: true, value: h };
      }
      return { ok: false, error: cannotConvertType(p, v) };
    case 'System.Management.Automation.Runspaces.PSSession':
      if (v.kind === 'null') return { ok: true, value: null };
      if (v.kind === 'bool') return { ok: false, error: invalidCast(p, v) };
      return { ok: false, error: cannotConvertType(p, v) };
    default: {
      const e = ENUMS[p.type];
      if (e) return toEnum(p, v, e);
      return { ok: true, value: valueText(v) };
    }
  }
}
