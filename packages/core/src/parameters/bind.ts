import type { ErrorCategory } from '../errors/error-category.ts';
import { PSRemotingError } from '../errors/ps-remoting-error.ts';
import type { FieldDescription, HostUi } from '../host/host-ui.ts';
import {
  type ArgumentValue,
  formatDoubleText,
  parseNumber,
  type RawArgument,
  valueText,
  valueTypeName,
} from './arguments.ts';
import { ENTER_PSSESSION_METADATA } from './enter-pssession-metadata.ts';
import { ALL_SETS, type CommandMetadata, type ParameterMetadata } from './metadata-types.ts';
import type { BoundParameters, BoundValue, ParameterSetName } from './types.ts';

export interface BindOptions {
  /** True when a person can answer prompts (missing mandatory parameters, credential passwords). */
  readonly interactive: boolean;
  readonly hostUi?: HostUi;
  readonly signal?: AbortSignal;
  readonly metadata?: CommandMetadata;
}

const CMDLET = 'Enter-PSSession';

function bindError(
  errorId: string,
  message: string,
  category: ErrorCategory = 'InvalidArgument',
  target?: unknown,
): PSRemotingError {
  return new PSRemotingError(message, { errorId, category, targetObject: target });
}

// ParameterBinderStrings.resx texts.
const MSG = {
  namedNotFound: (n: string) => `A parameter cannot be found that matches parameter name '${n}'.`,
  ambiguous: (n: string, list: string) =>
    `Parameter cannot be processed because the parameter name '${n}' is ambiguous. Possible matches include:${list}.`,
  missingArgument: (n: string, t: string) =>
    `Missing an argument for parameter '${n}'. Specify a parameter of type '${t}' and try again.`,
  alreadyBound: (n: string) =>
    `Cannot bind parameter because parameter '${n}' is specified more than once. To provide multiple values to parameters that can accept multiple values, use the array syntax. For example, "-parameter value1,value2,value3".`,
  positionalNotFound: (a: string) => `A positional parameter cannot be found that accepts argument '${a}'.`,
  ambiguousSet:
    'Parameter set cannot be resolved using the specified named parameters. One or more parameters issued cannot be used together or an insufficient number of parameters were provided.',
  missingMandatory: (list: string) =>
    `Cannot process command because of one or more missing mandatory parameters:${list}.`,
};

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

type Converted = { ok: true; value: BoundValue } | { ok: false; error: PSRemotingError | undefined };

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
function convert(p: ParameterMetadata, v: ArgumentValue, coerce: boolean): Converted {
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

const VARIABLE_PARAMETERS = [
  'ErrorVariable',
  'WarningVariable',
  'InformationVariable',
  'OutVariable',
  'PipelineVariable',
];

function validate(p: ParameterMetadata, value: BoundValue, original: ArgumentValue): void {
  for (const rule of p.validation) {
    const head = `Cannot validate argument on parameter '${p.name}'.`;
    switch (rule.kind) {
      case 'notNullOrEmpty':
        if (value === null || (value === '' && p.type === 'System.String')) {
          throw bindError(
            'ParameterArgumentValidationError',
            `${head} The argument is null or empty. Provide an argument that is not null or empty, and then try the command again.`,
            'InvalidData',
            original,
          );
        }
        if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) {
          throw bindError(
            'ParameterArgumentValidationError',
            `${head} The argument is null, empty, or an element of the argument collection contains a null value. Supply a collection that does not contain any null values and then try the command again.`,
            'InvalidData',
            original,
          );
        }
        break;
      case 'notNull':
        if (value === null) {
          throw bindError(
            'ParameterArgumentValidationError',
            `${head} The argument is null. Provide a valid value for the argument, and then try running the command again.`,
            'InvalidData',
            original,
          );
        }
        break;
      case 'range':
        if (value === null) {
          throw bindError(
            'ParameterArgumentValidationError',
            `${head} The argument is null, empty, or an element of the argument collection contains a null value. Supply a collection that does not contain any null values and then try the command again.`,
            'InvalidData',
            original,
          );
        }
        if (typeof value === 'number' && value < rule.min) {
          throw bindError(
            'ParameterArgumentValidationError',
            `${head} The ${value} argument is less than the minimum allowed range of ${rule.min}. Supply an argument that is greater than or equal to ${rule.min} and then try the command again.`,
            'InvalidData',
            original,
          );
        }
        if (typeof value === 'number' && value > rule.max) {
          throw bindError(
            'ParameterArgumentValidationError',
            `${head} The ${value} argument is greater than the maximum allowed range of ${rule.max}. Supply an argument that is less than or equal to ${rule.max} and then try the command again.`,
            'InvalidData',
            original,
          );
        }
        break;
      case 'set': {
        const text = typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value);
        const ok = rule.values.some((s) =>
          rule.ignoreCase ? s.toLowerCase() === text.toLowerCase() : s === text,
        );
        if (!ok) {
          throw bindError(
            'ParameterArgumentValidationError',
            `${head} The argument "${text}" does not belong to the set "${rule.values.join(',')}" specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again.`,
            'InvalidData',
            original,
          );
        }
        break;
      }
      default:
        break;
    }
  }
  // [ValidateVariableName] on the common *Variable parameters (CommonParameters.cs): an empty name is refused.
  if (VARIABLE_PARAMETERS.includes(p.name) && value === '') {
    throw bindError(
      'ParameterArgumentValidationError',
      `Cannot validate argument on parameter '${p.name}'. Cannot process argument because the value of argument "path" is not valid. Change the value of the "path" argument and run the operation again.`,
      'InvalidData',
      original,
    );
  }
  if (p.type === 'System.Management.Automation.ActionPreference' && value === 'Suspend') {
    throw bindError(
      'ParameterBindingFailed',
      `Cannot bind parameter '${p.name}' to the target. Exception setting "${p.name}": "The Suspend ActionPreference value is reserved for future use and is not supported at this time. For more information about preference variables, see the Help topic, "about_Preference_Variables.""`,
      'WriteError',
    );
  }
}

/**
 * The setters of Credential, CertificateThumbprint and Authentication run PSRemotingBaseCmdlet's
 * ValidateSpecifiedAuthentication as each is bound; its InvalidOperationException becomes ParameterBindingFailed.
 */
function checkAuthentication(p: ParameterMetadata, bound: ReadonlyMap<string, BoundValue>): void {
  if (!['Credential', 'CertificateThumbprint', 'Authentication'].includes(p.name)) return;
  const credential = bound.get('Credential') ?? null;
  const thumbprint = bound.get('CertificateThumbprint') ?? null;
  const authentication = (bound.get('Authentication') as string | undefined) ?? 'Default';
  let why: string | undefined;
  if (credential !== null && thumbprint !== null)
    why = 'A CertificateThumbPrint cannot be specified when Credential is specified.';
  else if (authentication !== 'Default' && thumbprint !== null)
    why = `A CertificateThumbPrint cannot be specified when ${authentication} is specified.`;
  else if (authentication === 'NegotiateWithImplicitCredential' && credential !== null)
    why = 'A Credential cannot be specified when NegotiateWithImplicitCredential is specified.';
  if (why === undefined) return;
  throw bindError(
    'ParameterBindingFailed',
    `Cannot bind parameter '${p.name}' to the target. Exception setting "${p.name}": "${why}"`,
    'WriteError',
  );
}

class Binder {
  private readonly meta: CommandMetadata;
  private readonly options: BindOptions;
  private readonly allSets: readonly string[];
  private valid: Set<string>;
  readonly bound = new Map<string, BoundValue>();

  constructor(meta: CommandMetadata, options: BindOptions) {
    this.meta = meta;
    this.options = options;
    this.allSets = meta.parameterSets;
    this.valid = new Set(meta.parameterSets);
  }

  setsOf(p: ParameterMetadata): string[] {
    return p.sets.some((s) => s.name === ALL_SETS) ? [...this.allSets] : p.sets.map((s) => s.name);
  }

  /** GetMatchingParameter: exact name or alias, else a unique prefix (declared parameters beat common ones). */
  resolveName(name: string): ParameterMetadata {
    const lower = name.toLowerCase();
    const params = this.meta.parameters;
    const exact = params.find(
      (p) => p.name.toLowerCase() === lower || p.aliases.some((a) => a.toLowerCase() === lower),
    );
    if (exact) return exact;
    // Names first, then parameters matched only through an alias (MergedCommandParameterMetadata).
    const byName = params.filter((p) => p.name.toLowerCase().startsWith(lower));
    const byAlias = params.filter(
      (p) => !byName.includes(p) && p.aliases.some((a) => a.toLowerCase().startsWith(lower)),
    );
    const matches = [...byName, ...byAlias];
    if (matches.length === 1) return matches[0] as ParameterMetadata;
    if (matches.length === 0)
      throw bindError('NamedParameterNotFound', MSG.namedNotFound(name), 'InvalidArgument', name);
    const declared = matches.filter((p) => !p.isCommon);
    if (declared.length === 1) return declared[0] as ParameterMetadata;
    throw bindError(
      'AmbiguousParameter',
      MSG.ambiguous(name, matches.map((p) => ` -${p.name}`).join('')),
      'InvalidArgument',
      name,
    );
  }

  narrow(p: ParameterMetadata): void {
    const sets = new Set(this.setsOf(p));
    const next = new Set([...this.valid].filter((s) => sets.has(s)));
    if (next.size === 0) throw bindError('AmbiguousParameterSet', MSG.ambiguousSet);
    this.valid = next;
  }

  async bindValue(p: ParameterMetadata, v: ArgumentValue, coerce: boolean): Promise<boolean> {
    if (p.validation.some((r) => r.kind === 'credential')) {
      const cred = await this.credential(p, v);
      this.bound.set(p.name, cred);
      checkAuthentication(p, this.bound);
      return true;
    }
    // Validation of a null argument comes before its conversion (a null Guid fails ValidateNotNull, not [Guid];
    // a null Port fails ValidateRange).
    if (v.kind === 'null' && coerce) validate(p, null, v);
    const c = convert(p, v, coerce);
    if (!c.ok) {
      if (c.error) throw c.error;
      return false;
    }
    validate(p, c.value, v);
    this.bound.set(p.name, c.value);
    checkAuthentication(p, this.bound);
    return true;
  }

  /** [Credential()]: a user name (or nothing) becomes a credential prompt (CredentialAttribute.cs). */
  async credential(p: ParameterMetadata, v: ArgumentValue): Promise<BoundValue> {
    if (v.kind !== 'null' && v.kind !== 'string') {
      // CredentialAttribute: only a string (a user name) or nothing becomes a prompt; anything else is refused.
      throw bindError(
        'ParameterArgumentTransformationError',
        `Cannot process argument transformation on parameter '${p.name}'. userName`,
        'InvalidData',
      );
    }
    const userName = v.kind === 'null' ? '' : v.value;
    const ui = this.options.hostUi;
    if (!this.options.interactive || !ui) {
      throw bindError(
        'ParameterArgumentTransformationError',
        `Cannot process argument transformation on parameter '${p.name}'. PowerShell is in NonInteractive mode. Read and Prompt functionality is not available.`,
        'InvalidData',
      );
    }
    const c = await ui.promptForCredential(
      'PowerShell credential request',
      'Enter your credentials.',
      userName,
      '',
      this.options.signal,
    );
    if (!c) {
      // No credential (the prompt was dismissed): CredentialAttribute gives null, and a parameter mandatory in a
      // set still possible cannot be null (ParameterBinderBase.BindParameter, ValidateNullOrEmptyArgument).
      if (p.sets.some((s) => s.mandatory && this.valid.has(s.name))) {
        throw bindError(
          'ParameterArgumentValidationErrorNullNotAllowed',
          `Cannot bind argument to parameter '${p.name}' because it is null.`,
          'InvalidData',
        );
      }
      return null;
    }
    return { userName: c.userName, password: c.password };
  }

  async bind(args: readonly RawArgument[]): Promise<BoundParameters> {
    // 1. Reparse: parameter names and their arguments, before anything binds.
    const named: Array<{ p: ParameterMetadata; v: ArgumentValue; typed: string; separate?: boolean }> = [];
    const positional: ArgumentValue[] = [];
    const positionalText: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as RawArgument;
      if (a.kind === 'value') {
        positional.push(a.value);
        positionalText.push(valueText(a.value));
        continue;
      }
      const p = this.resolveName(a.name);
      if (a.value !== undefined) {
        named.push({ p, v: a.value, typed: a.name });
      } else if (p.isSwitch) {
        named.push({ p, v: { kind: 'bool', value: true }, typed: a.name });
      } else {
        const next = args[i + 1];
        if (!next || next.kind === 'parameter') {
          throw bindError('MissingArgument', MSG.missingArgument(p.name, p.type), 'InvalidArgument', p.name);
        }
        named.push({ p, v: next.value, typed: a.name, separate: true });
        i++;
      }
    }
    // 2. Named parameters, in order.
    for (const { p, v, typed, separate } of named) {
      if (this.bound.has(p.name)) {
        // A parameter whose argument was the next word is re-made under its full name (ReparseUnboundArguments);
        // one given alone or as -Name:value keeps the name as typed.
        const shown = separate ? p.name : typed;
        throw bindError('ParameterAlreadyBound', MSG.alreadyBound(shown), 'InvalidArgument', p.name);
      }
      // The argument is transformed and validated before the parameter set is checked.
      await this.bindValue(p, v, true);
      this.narrow(p);
    }
    // 3. Positional arguments: default set without coercion, other sets without, then both with coercion.
    let argIdx = 0;
    const positions = new Map<number, ParameterMetadata[]>();
    for (const p of this.meta.parameters) {
      for (const s of p.sets)
        if (s.position >= 0)
          (positions.get(s.position) ?? positions.set(s.position, []).get(s.position))?.push(p);
    }
    for (const pos of [...positions.keys()].sort((a, b) => a - b)) {
      if (argIdx >= positional.length) break;
      const v = positional[argIdx] as ArgumentValue;
      const at = (p: ParameterMetadata, set: string) =>
        !this.bound.has(p.name) &&
        this.valid.has(set) &&
        p.sets.some((s) => s.name === set && s.position === pos);
      const candidates = (positions.get(pos) ?? []).filter((p) => p.sets.some((s) => at(p, s.name)));
      const dflt = this.meta.defaultParameterSet;
      const inDefault = candidates.filter((p) => at(p, dflt));
      const others = candidates.filter((p) => !inDefault.includes(p));
      let done = false;
      // A candidate that cannot convert the argument lets the next one try; when none takes
      // it, the last refusal is the error (CmdletParameterBinderController.BindPositionalParametersInSet).
      let lastError: PSRemotingError | undefined;
      const tryBind = async (p: ParameterMetadata, coerce: boolean): Promise<boolean> => {
        try {
          return await this.bindValue(p, v, coerce);
        } catch (e) {
          // Validation and transformation failures end binding at once; a failed conversion lets others try.
          if (
            !(e instanceof PSRemotingError) ||
            /^ParameterArgument(Validation|Transformation)/.test(e.errorId)
          )
            throw e;
          lastError = e;
          return false;
        }
      };
      for (const coerce of [false, true]) {
        for (const group of [inDefault, others]) {
          for (const p of group) {
            if (await tryBind(p, coerce)) {
              const sets = new Set(p.sets.filter((s) => s.position === pos).map((s) => s.name));
              this.valid = new Set([...this.valid].filter((s) => sets.has(s)));
              done = true;
              break;
            }
          }
          if (done) break;
        }
        if (done) break;
      }
      if (done) argIdx++;
      else if (lastError) throw lastError;
    }
    if (argIdx < positional.length) {
      const text = positionalText[argIdx] as string;
      throw bindError('PositionalParameterNotFound', MSG.positionalNotFound(text), 'InvalidArgument', text);
    }
    // 4. The parameter set.
    const set = this.resolveSet();
    // 5. Mandatory parameters of that set.
    const missing = this.meta.parameters.filter(
      (p) => !this.bound.has(p.name) && p.sets.some((s) => s.name === set && s.mandatory),
    );
    if (missing.length > 0) await this.promptMissing(missing);
    const bound: Record<string, BoundValue> = {};
    for (const [k, v] of this.bound) bound[k] = v;
    return { parameterSet: set as ParameterSetName, bound };
  }

  resolveSet(): string {
    if (this.valid.size === 1) return [...this.valid][0] as string;
    if (this.valid.has(this.meta.defaultParameterSet)) return this.meta.defaultParameterSet;
    const satisfied = [...this.valid].filter(
      (set) =>
        !this.meta.parameters.some(
          (p) => !this.bound.has(p.name) && p.sets.some((s) => s.name === set && s.mandatory),
        ),
    );
    if (satisfied.length === 1) return satisfied[0] as string;
    throw bindError('AmbiguousParameterSet', MSG.ambiguousSet);
  }

  async promptMissing(missing: ParameterMetadata[]): Promise<void> {
    const ui = this.options.hostUi;
    if (!this.options.interactive || !ui) {
      throw bindError(
        'MissingMandatoryParameter',
        MSG.missingMandatory(missing.map((p) => ` ${p.name}`).join('')),
        'InvalidArgument',
      );
    }
    const fields: FieldDescription[] = missing.map((p) => ({
      name: p.name,
      label: p.name,
      parameterTypeName: p.type.split('.').pop() as string,
      parameterTypeFullName: p.type,
      helpMessage: '',
      isMandatory: true,
    }));
    const answers = await ui.prompt(
      `cmdlet ${CMDLET} at command pipeline position 1`,
      'Supply values for the following parameters:',
      fields,
      this.options.signal,
    );
    for (const p of missing) {
      const a = answers[p.name];
      if (a && typeof a === 'object' && 'userName' in a && 'password' in a) {
        this.bound.set(p.name, { userName: a.userName, password: a.password });
        continue;
      }
      const text =
        typeof a === 'string'
          ? a
          : a && typeof a === 'object' && 'secureString' in a
            ? a.secureString
            : undefined;
      if (text === undefined) {
        throw bindError('MissingMandatoryParameter', MSG.missingMandatory(` ${p.name}`), 'InvalidArgument');
      }
      // An answer binds like a typed string: pwsh 7.6.9 answers an empty HostName with ValidateNotNullOrEmpty's
      // ParameterArgumentValidationError ("The argument is null or empty...").
      await this.bindValue(p, { kind: 'string', value: text }, true);
    }
  }
}

/** Binds Enter-PSSession arguments exactly as PowerShell's parameter binder does. */
export async function bindEnterPSSession(
  args: readonly RawArgument[],
  options: BindOptions,
): Promise<BoundParameters> {
  return new Binder(options.metadata ?? ENTER_PSSESSION_METADATA, options).bind(args);
}
