// ParameterBinderStrings.resx texts and the one way the binder makes its errors (ParameterBindingException's
// ErrorId, category and message, carried by a PSRemotingError).
import type { ErrorCategory } from '../errors/error-category.ts';
import type { ErrorId } from '../errors/error-ids.ts';
import { PSRemotingError } from '../errors/ps-remoting-error.ts';

export function bindError(
  errorId: ErrorId,
  message: string,
  category: ErrorCategory = 'InvalidArgument',
  target?: unknown,
): PSRemotingError {
  return new PSRemotingError(message, { errorId, category, targetObject: target });
}

// ParameterBinderStrings.resx texts.
export const MSG = {
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
