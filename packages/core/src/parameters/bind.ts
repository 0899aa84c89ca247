import { PSRemotingError } from '../errors/ps-remoting-error.ts';
import type { FieldDescription, HostUi } from '../host/host-ui.ts';
import { type ArgumentValue, type RawArgument, valueText } from './arguments.ts';
import { convert } from './conversion.ts';
import { ENTER_PSSESSION_METADATA } from './enter-pssession-metadata.ts';
import { bindError, MSG } from './messages.ts';
import { ALL_SETS, type CommandMetadata, type ParameterMetadata } from './metadata-types.ts';
import type { BoundParameters, BoundValue, ParameterSetName } from './types.ts';
import { checkAuthentication, validate } from './validation.ts';

export interface BindOptions {
  /** True when a person can answer prompts (missing mandatory parameters, credential passwords). */
  readonly interactive: boolean;
  readonly hostUi?: HostUi;
  readonly signal?: AbortSignal;
  readonly metadata?: CommandMetadata;
}

const CMDLET = 'Enter-PSSession';

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
