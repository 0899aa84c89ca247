// Parameter validation: the validation attributes (ValidateNotNullOrEmpty, ValidateRange, ValidateSet,
// ValidateVariableName, ...) as ParameterBinderBase.BindParameter runs them after conversion, and the checks the
// cmdlet's property setters make when the value is assigned.
import type { ArgumentValue } from './arguments.ts';
import { bindError } from './messages.ts';
import type { ParameterMetadata } from './metadata-types.ts';
import type { BoundValue } from './types.ts';

const VARIABLE_PARAMETERS = [
  'ErrorVariable',
  'WarningVariable',
  'InformationVariable',
  'OutVariable',
  'PipelineVariable',
];

export function validate(p: ParameterMetadata, value: BoundValue, original: ArgumentValue): void {
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
  // [ValidateVariableName] on the common *Variable parameters (CommonCommandParameters.cs): the name after an
  // optional '+' must be a VariablePath that is a variable: not empty, and no drive ('x:') unless it is a scope.
  const variableName = typeof value === 'string' ? value.replace(/^\+/, '') : undefined;
  if (
    VARIABLE_PARAMETERS.includes(p.name) &&
    variableName &&
    !/^(global|local|private|script|variable):/i.test(variableName) &&
    variableName.indexOf(':') > 0
  ) {
    throw bindError(
      'ParameterArgumentValidationError',
      `Cannot validate argument on parameter '${p.name}'. Cannot validate argument '${variableName}' because it is not a valid variable name.`,
      'InvalidData',
      original,
    );
  }
  if (VARIABLE_PARAMETERS.includes(p.name) && variableName === '') {
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
export function checkAuthentication(p: ParameterMetadata, bound: ReadonlyMap<string, BoundValue>): void {
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
