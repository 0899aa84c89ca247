// Argument conversion: ParameterBinderBase.CoerceTypeAsNeeded and LanguagePrimitives for the types Enter-PSSession's
// parameters have, with their exact error texts.
import type { PSRemotingError } from '../errors/ps-remoting-error.ts';
import { type ArgumentValue, formatDoubleText, parseNumber, valueText, valueTypeName } from './arguments.ts';
import { bindError } from './messages.ts';
import type { ParameterMetadata } from './metadata-types.ts';
import type { BoundValue } from './types.ts';

const ENUMS: Record<string, readonly string[]> = {
  'System.Management.Automation.Runspaces.AuthenticationMechanism': [
    'Default',
    'Basic',
    'Negotiate',
    'NegotiateWithImplicitCredential',
    'Credssp',
    'Digest',
    'Kerberos',
  ],
  'System.Management.Automation.ActionPreference': [
    'SilentlyContinue',
    'Stop',
    'Continue',
    'Inquire',
    'Ignore',
    'Suspend',
    'Break',
  ],
};

export type Converted = { ok: true; value: BoundValue } | { ok: false; error: PSRemotingError | undefined };

const NO = { ok: false, error: undefined } as const;

function cannotConvertValue(p: ParameterMetadata, v: ArgumentValue, detail: string): PSRemotingError {
  return bindError(
    'CannotConvertArgumentNoMessage',
    `Cannot bind parameter '${p.name}'. Cannot convert value "${valueText(v)}" to type "${p.type}". Error: "${detail}"`,
  );
}

function cannotConvertType(p: ParameterMetadata, v: ArgumentValue): PSRemotingError {
  return bindError(
    'CannotConvertArgumentNoMessage',
    `Cannot bind parameter '${p.name}'. Cannot convert the "${valueText(v)}" value of type "${valueTypeName(v)}" to type "${p.type}".`,
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

/** LanguagePrimitives' enum conversion: a defined number, an exact name, else a unique name prefix. */
function toEnum(p: ParameterMetadata, v: ArgumentValue, names: readonly string[]): Converted {
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
  if (v.kind === 'int' || v.kind === 'long' || v.kind === 'double') {
    const n = Number(v.value);
    if (Number.isInteger(n) && n >= 0 && n < names.length) return { ok: true, value: names[n] as string };
    return invalid(valueText(v));
  }
  // A list (an array, or names with commas) is read as flags: the values are ORed, and the result must be a
  // defined value of these non-[Flags] enums (so -ErrorAction Continue,Stop is Inquire).
  const list =
    v.kind === 'array'
      ? v.items.map(valueText)
      : valueText(v).includes(',')
        ? valueText(v).split(',')
        : undefined;
  if (list) {
    const shown = v.kind === 'array' ? list.join(',') : valueText(v);
    let combined = 0;
    for (const item of list.map((x) => x.trim())) {
      const i = /^\d+$/.test(item)
        ? Number(item)
        : names.findIndex((n) => n.toLowerCase() === item.toLowerCase());
      if (i < 0) {
        return {
          ok: false,
          error: cannotConvertValue(
            p,
            { kind: 'string', value: shown },
            `Unable to match the identifier name ${shown} to a valid enumerator name. Specify one of the following enumerator names and try again:\n${names.join(', ')}`,
          ),
        };
      }
      combined |= i;
    }
    return combined < names.length ? { ok: true, value: names[combined] as string } : invalid(shown);
  }
  const t = valueText(v).trim();
  // A number in a string is taken as the number.
  if (/^[+-]?\d+$/.test(t) && !(Number(t) >= 0 && Number(t) < names.length)) return invalid(valueText(v));
  if (/^[+-]?\d+$/.test(t)) return { ok: true, value: names[Number(t)] as string };
  const exact = names.find((n) => n.toLowerCase() === t.toLowerCase());
  if (exact) return { ok: true, value: exact };
  const prefixed = names.filter((n) => n.toLowerCase().startsWith(t.toLowerCase()));
  if (prefixed.length === 1) return { ok: true, value: prefixed[0] as string };
  if (prefixed.length > 1) {
    return {
      ok: false,
      error: cannotConvertValue(
        p,
        v,
        `The identifier name ${t} cannot be processed because it is either too similar or identical to the following enumerator names: ${prefixed.join(', ')}. Use a more specific identifier name.`,
      ),
    };
  }
  return {
    ok: false,
    error: cannotConvertValue(
      p,
      v,
      `Unable to match the identifier name ${t} to a valid enumerator name. Specify one of the following enumerator names and try again:\n${names.join(', ')}`,
    ),
  };
}

// The settable properties of PSSessionOption, as LanguagePrimitives lists them when a hashtable names another.
const SESSION_OPTION_PROPERTIES =
  '[MaximumConnectionRedirectionCount <System.Int32>], [NoCompression <System.Boolean>], [NoMachineProfile <System.Boolean>], [ProxyAccessType <System.Management.Automation.Remoting.ProxyAccessType>], [ProxyAuthentication <System.Management.Automation.Runspaces.AuthenticationMechanism>], [ProxyCredential <System.Management.Automation.PSCredential>], [SkipCACheck <System.Boolean>], [SkipCNCheck <System.Boolean>], [SkipRevocationCheck <System.Boolean>], [OperationTimeout <System.TimeSpan>], [NoEncryption <System.Boolean>], [UseUTF16 <System.Boolean>], [IncludePortInSPN <System.Boolean>], [OutputBufferingMode <System.Management.Automation.Runspaces.OutputBufferingMode>], [MaxConnectionRetryCount <System.Int32>], [Culture <System.Globalization.CultureInfo>], [UICulture <System.Globalization.CultureInfo>], [MaximumReceivedDataSizePerCommand <System.Nullable`1[[System.Int32, System.Private.CoreLib, Version=10.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e]]>], [MaximumReceivedObjectSize <System.Nullable`1[[System.Int32, System.Private.CoreLib, Version=10.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e]]>], [ApplicationArguments <System.Management.Automation.PSPrimitiveDictionary>], [OpenTimeout <System.TimeSpan>], [CancelTimeout <System.TimeSpan>], [IdleTimeout <System.TimeSpan>]';
const SESSION_OPTION_NAMES = [...SESSION_OPTION_PROPERTIES.matchAll(/\[(\w+) </g)].map((m) =>
  (m[1] as string).toLowerCase(),
);

/** A hashtable value as .NET's ToString() gives it (the text `-o key=value` carries). */
function dotnetText(v: ArgumentValue): string {
  if (v.kind === 'double') return formatDoubleText(v.value);
  if (v.kind === 'int' || v.kind === 'long') return String(v.value);
  return valueText(v);
}

/** Argument conversion (LanguagePrimitives) for the types Enter-PSSession's parameters have. */
export function convert(p: ParameterMetadata, v: ArgumentValue, coerce: boolean): Converted {
  if (v.kind === 'scriptblock') {
    return {
      ok: false,
      error: bindError(
        'ScriptBlockArgumentNoInput',
        `Cannot evaluate parameter '${p.name}' because its argument is specified as a script block and there is no input. A script block cannot be evaluated without input.`,
        'MetadataError',
      ),
    };
  }
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
        for (const [k, x] of v.entries) {
          // LanguagePrimitives builds a PSSessionOption from a hashtable: every key must be a settable property.
          if (p.type !== 'System.Collections.Hashtable' && !SESSION_OPTION_NAMES.includes(k.toLowerCase())) {
            return {
              ok: false,
              error: bindError(
                'CannotConvertArgumentNoMessage',
                `Cannot bind parameter '${p.name}'. Cannot create object of type "${p.type}". The property '${k}' was not found for the '${p.type}' object. The settable properties are: ${SESSION_OPTION_PROPERTIES}.`,
              ),
            };
          }
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
      const names = ENUMS[p.type];
      if (names) return toEnum(p, v, names);
      return { ok: true, value: valueText(v) };
    }
  }
}
