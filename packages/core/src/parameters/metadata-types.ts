/** Parameter metadata as PowerShell reports it ((Get-Command X).Parameters), reduced to what binding needs. */
export interface ParameterSetMembership {
  readonly name: string;
  /** Int32.MinValue (-2147483648) means named-only. */
  readonly position: number;
  readonly mandatory: boolean;
  readonly valueFromPipeline: boolean;
  readonly valueFromPipelineByPropertyName: boolean;
}

export type ValidationMetadata =
  | { readonly kind: 'range'; readonly min: number; readonly max: number }
  | { readonly kind: 'set'; readonly values: readonly string[]; readonly ignoreCase: boolean }
  | { readonly kind: 'notNullOrEmpty' }
  | { readonly kind: 'notNull' }
  | { readonly kind: 'credential' }
  | { readonly kind: 'allowNull' }
  | { readonly kind: 'allowEmptyString' };

export interface ParameterMetadata {
  readonly name: string;
  /** .NET full type name. */
  readonly type: string;
  readonly isSwitch: boolean;
  readonly isCommon: boolean;
  readonly aliases: readonly string[];
  /** `__AllParameterSets` for the common parameters. */
  readonly sets: readonly ParameterSetMembership[];
  readonly validation: readonly ValidationMetadata[];
}

export interface CommandMetadata {
  readonly command: string;
  readonly psVersion: string;
  readonly defaultParameterSet: string;
  readonly parameterSets: readonly string[];
  readonly parameters: readonly ParameterMetadata[];
}

export const NAMED = -2147483648;
export const ALL_SETS = '__AllParameterSets';
