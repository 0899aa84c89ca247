/** The parameter sets of Enter-PSSession, with PowerShell's own names. */
export const PARAMETER_SET_NAMES = [
  'ComputerName',
  'Uri',
  'Session',
  'InstanceId',
  'Id',
  'Name',
  'VMId',
  'VMName',
  'ContainerId',
  'SSHHost',
] as const;
export type ParameterSetName = (typeof PARAMETER_SET_NAMES)[number];

/** A PSCredential as bound: a user name, and the password once known (a user name alone prompts for it). */
export interface PSCredentialValue {
  readonly userName: string;
  readonly password?: string;
}

/** A bound parameter value after argument conversion. */
export type BoundValue =
  | string
  | number
  | boolean
  | PSCredentialValue
  | Readonly<Record<string, string>>
  | readonly string[]
  | null;

/** The binder's result: the resolved set and every bound parameter under its canonical name. */
export interface BoundParameters {
  readonly parameterSet: ParameterSetName;
  readonly bound: Readonly<Record<string, BoundValue>>;
}
