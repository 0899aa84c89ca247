import { PSRemotingError } from '../errors/ps-remoting-error.ts';
import type { FieldDescription, HostUi } from '../host/host-ui.ts';
import { type ArgumentValue, type RawArgument, valueText } from './arguments.ts';
import { convert } from './conversion.ts';
import { ENTER_PSSESSION_METADATA } from './enter-pssession-metadata.ts';
import { bindError, MSG } from './messages.ts';
import {
  ALL_SETS,
  type CommandMetadata,
  NAMED,
  type ParameterMetadata,
  type ParameterSetMembership,
} from './metadata-types.ts';
import type { BoundParameters, BoundValue, ParameterSetName } from './types.ts';
import { checkAuthentication, validate } from './validation.ts';

export interface BindOptions {
  /** True when a person can answer prompts (missing mandatory parameters, credential passwords). */
  readonly interactive: boolean;
  readonly hostUi?: HostUi;
  readonly signal?: AbortSignal;
  readonly metadata?: CommandMetadata;
  /**
   * A dry run (`psremote --dry-run`): a -Credential user name binds as that user with no password instead of
   * prompting, so the binding can be shown without asking for a secret.
   */
  readonly deferCredentialPrompt?: boolean;
  /**
   * The password of a -Credential given by user name, known beforehand (`psremote --password-stdin`): it binds
   * with the user name without a prompt.
   */
  readonly credentialPassword?: string;
}

const CMDLET = 'Enter-PSSession';

// The variables a fresh pwsh 7.6.9 session holds as ReadOnly or Constant (probed with the binder oracle).
const READ_ONLY_VARIABLES = new Map(
  'true false PID HOME ? PSHOME Host ExecutionContext ShellId PSVersionTable IsLinux IsWindows IsMacOS IsCoreCLR PSEdition PSCulture PSUICulture'
    .split(' ')
    .map((n) => [n.toLowerCase(), n]),
);

/**
 * Once binding is done, the pipeline creates the variables the common parameters name
 * (PipelineProcessor.SetupParameterVariables, pipeline.cs: OutVariable, ErrorVariable, WarningVariable,
 * PipelineVariable, InformationVariable): a read-only or constant one cannot be overwritten. The stream variables
 * drop a leading '+' and a scope and are named as the session names them; PipelineVariable as typed.
 */
function checkParameterVariables(bound: ReadonlyMap<string, BoundValue>): void {
  for (const p of [
    'OutVariable',
    'ErrorVariable',
    'WarningVariable',
    'PipelineVariable',
    'InformationVariable',
  ]) {
    const value = bound.get(p);
    if (typeof value !== 'string' || value === '') continue;
    const pipeline = p === 'PipelineVariable';
    const name = pipeline
      ? value
      : value.replace(/^\+/, '').replace(/^((global|local|private|script|variable):)+/i, '');
    const existing = READ_ONLY_VARIABLES.get(name.toLowerCase());
    if (existing === undefined) continue;
    throw bindError(
      'VariableNotWritable',
      `Cannot overwrite variable ${pipeline ? name : existing} because it is read-only or constant.`,
      'WriteError',
      name,
    );
  }
}

/** uint.MaxValue: no parameter has narrowed the sets yet (CmdletParameterBinderController._currentParameterSetFlag). */
const ALL_FLAGS = 0xffffffff;

/**
 * One argument as CommandParameterInternal holds it: a name (as typed; the full name once the reparse has paired
 * it with the next word), an argument, or both. `value` undefined is UnboundParameter.Value: no argument yet.
 */
interface Argument {
  readonly name?: string;
  /** ParameterText: the parameter word as typed ('-WhatIf', '–Foo'). */
  readonly text?: string;
  readonly value?: ArgumentValue;
}

/** A positional parameter and its set entries at one position (PositionalCommandParameter). */
type PositionalParameters = Map<ParameterMetadata, ParameterSetMembership[]>;

/**
 * PowerShell's order (CmdletParameterBinderController.BindCommandLineParameters, pwsh 7.6.9), which decides which
 * error wins when an argument list has several problems:
 *
 * 1. ReparseUnboundArguments (ParameterBinderController.cs): left to right, each name without an argument is
 *    looked up. An ambiguous prefix throws AmbiguousParameter; an unknown name is kept, unbound, for later. A
 *    switch takes no value. Any other parameter takes the next word: a plain value; or, when the next word is a
 *    parameter name that matches nothing and has no argument of its own, that word's text ("-WhatIf"). When the
 *    next word is a known parameter, a `-Name:value`, or nothing: MissingArgument (the next word's lookup may
 *    itself be AmbiguousParameter first).
 * 2. BindNamedParameters (ParameterBinderController.cs): left to right, one at a time. A parameter already bound
 *    throws ParameterAlreadyBound; otherwise the argument is transformed ([Credential()]), converted, validated
 *    and set (ParameterBinderBase.BindParameter), and the valid sets are narrowed (CmdletParameterBinderController
 *    .BindParameter): `flags &= parameter's sets`, with no error yet when nothing is left. Unknown names stay.
 * 3. BindPositionalParameters (ParameterBinderController.cs): the unbound positional parameters of the sets still
 *    valid, by position; each position takes the next unnamed word (an unknown name swallows the unnamed word
 *    after it). Four tries: the default set without coercion, the valid sets without, the default set with, the
 *    valid sets with; every parameter at the position in the sets tried gets the value. A conversion failure lets
 *    the next parameter try; transformation and validation failures throw. A word no parameter takes stays, and
 *    the next word tries the next position. The failure kept by the phase's last try (outgoingBindingException)
 *    is what step 5 reports for a leftover value.
 * 4. ValidateParameterSets(prePipelineInput: true) (CmdletParameterBinderController.cs): no set left is
 *    AmbiguousParameterSet; several without the default, none taking pipeline input, are resolved by their
 *    unbound mandatory parameters or are AmbiguousParameterSet.
 * 5. VerifyArgumentsProcessed (CmdletParameterBinderController.cs): the first argument left over: a name is
 *    NamedParameterNotFound; a value is the kept positional failure, or PositionalParameterNotFound.
 * 6. ValidateParameterSets(prePipelineInput: false) settles on one set (the default when it is still valid), then
 *    HandleUnboundMandatoryParameters: MissingMandatoryParameter, or a prompt when a person is there.
 * 7. The pipeline then sets up the variables -OutVariable and the like name (pipeline.cs): VariableNotWritable.
 */
class Binder {
  private readonly meta: CommandMetadata;
  private readonly options: BindOptions;
  private readonly setFlags: ReadonlyMap<string, number>;
  private readonly defaultFlag: number;
  /** _currentParameterSetFlag: one bit per set of meta.parameterSets, ALL_FLAGS until something narrows it. */
  private current = ALL_FLAGS;
  readonly bound = new Map<string, BoundValue>();

  constructor(meta: CommandMetadata, options: BindOptions) {
    this.meta = meta;
    this.options = options;
    this.setFlags = new Map(meta.parameterSets.map((name, i) => [name, 2 ** i]));
    this.defaultFlag = this.setFlag(meta.defaultParameterSet);
  }

  /** A set's bit; 0 for __AllParameterSets (ParameterSetSpecificMetadata.IsInAllSets). */
  setFlag(name: string): number {
    return this.setFlags.get(name) ?? 0;
  }

  /** CompiledCommandParameter.ParameterSetFlags: 0 for a parameter in all sets. */
  flagsOf(p: ParameterMetadata): number {
    return p.sets.reduce((f, s) => (f | this.setFlag(s.name)) >>> 0, 0);
  }

  inSets(s: ParameterSetMembership, flags: number): boolean {
    return s.name === ALL_SETS || (this.setFlag(s.name) & flags) !== 0;
  }

  /**
   * GetMatchingParameter (MergedCommandParameterMetadata.cs): exact name or alias, else a unique prefix (declared
   * parameters beat common ones); undefined when nothing matches; AmbiguousParameter when several do.
   */
  match(name: string): ParameterMetadata | undefined {
    const lower = name.toLowerCase();
    const params = this.meta.parameters;
    const exact = params.find(
      (p) => p.name.toLowerCase() === lower || p.aliases.some((a) => a.toLowerCase() === lower),
    );
    if (exact) return exact;
    // Names first, then parameters matched only through an alias.
    const byName = params.filter((p) => p.name.toLowerCase().startsWith(lower));
    const byAlias = params.filter(
      (p) => !byName.includes(p) && p.aliases.some((a) => a.toLowerCase().startsWith(lower)),
    );
    const matches = [...byName, ...byAlias];
    if (matches.length <= 1) return matches[0];
    const declared = matches.filter((p) => !p.isCommon);
    if (declared.length === 1) return declared[0];
    throw bindError(
      'AmbiguousParameter',
      MSG.ambiguous(name, matches.map((p) => ` -${p.name}`).join('')),
      'InvalidArgument',
      name,
    );
  }

  /**
   * CmdletParameterBinderController.BindParameter: a script block for a parameter that takes pipeline input in
   * `sets` waits for input there is none of; else ParameterBinderBase.BindParameter; the sets narrow on success.
   */
  async bindParameter(
    p: ParameterMetadata,
    v: ArgumentValue,
    coerce: boolean,
    sets: number,
  ): Promise<boolean> {
    if (
      v.kind === 'scriptblock' &&
      p.sets.some((s) => this.inSets(s, sets) && (s.valueFromPipeline || s.valueFromPipelineByPropertyName))
    ) {
      throw bindError(
        'ScriptBlockArgumentNoInput',
        `Cannot evaluate parameter '${p.name}' because its argument is specified as a script block and there is no input. A script block cannot be evaluated without input.`,
        'MetadataError',
      );
    }
    if (!(await this.bindValue(p, v, coerce))) return false;
    const flags = this.flagsOf(p);
    if (flags !== 0) this.current = (this.current & flags) >>> 0;
    return true;
  }

  /** ParameterBinderBase.BindParameter: transformation, conversion, validation, the property setter. */
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
    if (this.options.credentialPassword !== undefined)
      return { userName, password: this.options.credentialPassword };
    if (this.options.deferCredentialPrompt) return { userName };
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
      if (p.sets.some((s) => s.mandatory && (this.current & this.setFlag(s.name)) !== 0)) {
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

  async bind(raw: readonly RawArgument[]): Promise<BoundParameters> {
    const unbound = this.reparse(raw);
    const left = await this.bindNamed(unbound);
    const { rest, error } = await this.bindPositional(left);
    this.validateParameterSets(true, false);
    this.verifyArgumentsProcessed(rest, error);
    this.validateParameterSets(false, true);
    const set = this.meta.parameterSets.find((s) => this.setFlag(s) === this.current) as string;
    const missing = this.meta.parameters.filter(
      (p) => !this.bound.has(p.name) && p.sets.some((s) => s.mandatory && this.inSets(s, this.current)),
    );
    if (missing.length > 0) await this.promptMissing(missing);
    checkParameterVariables(this.bound);
    const bound: Record<string, BoundValue> = {};
    for (const [k, v] of this.bound) bound[k] = v;
    return { parameterSet: set as ParameterSetName, bound };
  }

  /** ReparseUnboundArguments (ParameterBinderController.cs): names paired with their arguments. */
  reparse(raw: readonly RawArgument[]): Argument[] {
    const out: Argument[] = [];
    for (let i = 0; i < raw.length; i++) {
      const a = raw[i] as RawArgument;
      if (a.kind === 'value') {
        out.push({ value: a.value });
        continue;
      }
      if (a.value !== undefined) {
        out.push({ name: a.name, text: a.text, value: a.value });
        continue;
      }
      const p = this.match(a.name);
      if (!p) {
        out.push({ name: a.name, text: a.text });
        continue;
      }
      // IsSwitchAndSetValue: a switch is present, under the name as typed.
      if (p.isSwitch) {
        out.push({ name: a.name, text: a.text, value: { kind: 'bool', value: true } });
        continue;
      }
      const next = raw[i + 1];
      const missing = () =>
        bindError('MissingArgument', MSG.missingArgument(p.name, p.type), 'InvalidArgument', p.name);
      if (!next) throw missing();
      if (next.kind === 'parameter') {
        // A name that matches nothing and has no argument of its own is this parameter's value, as typed.
        if (this.match(next.name) || next.value !== undefined) throw missing();
        out.push({ name: p.name, text: a.text, value: { kind: 'string', value: next.text } });
      } else {
        out.push({ name: p.name, text: a.text, value: next.value });
      }
      i++;
    }
    return out;
  }

  /** BindNamedParameters (ParameterBinderController.cs): one at a time, in order; unknown names stay. */
  async bindNamed(args: readonly Argument[]): Promise<Argument[]> {
    const left: Argument[] = [];
    for (const a of args) {
      const p = a.name === undefined ? undefined : this.match(a.name);
      if (!p || a.value === undefined) {
        left.push(a);
        continue;
      }
      if (this.bound.has(p.name)) {
        throw bindError(
          'ParameterAlreadyBound',
          MSG.alreadyBound(a.name as string),
          'InvalidArgument',
          p.name,
        );
      }
      // BindNamedParameter checks the sets as they were before named binding began: all of them.
      await this.bindParameter(p, a.value, true, ALL_FLAGS);
    }
    return left;
  }

  /** EvaluateUnboundPositionalParameters: unbound parameters with a position in the valid sets, by position. */
  positionalParameters(): Map<number, PositionalParameters> {
    const byPosition = new Map<number, PositionalParameters>();
    for (const p of this.meta.parameters) {
      if (this.bound.has(p.name)) continue;
      for (const s of p.sets) {
        if (s.position === NAMED || !this.inSets(s, this.current)) continue;
        const at = byPosition.get(s.position) ?? new Map<ParameterMetadata, ParameterSetMembership[]>();
        byPosition.set(s.position, at);
        at.set(p, [...(at.get(p) ?? []), s]);
      }
    }
    return new Map([...byPosition].sort(([a], [b]) => a - b));
  }

  /**
   * BindPositionalParameters (ParameterBinderController.cs). Returns the arguments left over and the failure the
   * last BindPositionalParametersInSet call kept (outgoingBindingException).
   */
  async bindPositional(args: readonly Argument[]): Promise<{ rest: Argument[]; error?: PSRemotingError }> {
    const byPosition = this.positionalParameters();
    if (args.length === 0 || byPosition.size === 0) return { rest: [...args] };
    const rest: Argument[] = [];
    let error: PSRemotingError | undefined;
    let index = 0;
    let valid = this.current;
    const dflt = this.defaultFlag;
    for (const at of byPosition.values()) {
      if (at.size === 0) continue;
      // GetNextPositionalArgument: a name left over here matched nothing, and takes the unnamed word after it.
      let arg: Argument | undefined;
      while (index < args.length) {
        const a = args[index++] as Argument;
        if (a.name === undefined) {
          arg = a;
          break;
        }
        rest.push(a);
        const next = args[index];
        if (next && next.name === undefined) {
          rest.push(next);
          index++;
        }
      }
      if (!arg) break;
      const value = arg.value as ArgumentValue;
      let bound = false;
      const favourDefault = dflt !== 0 && (valid & dflt) !== 0;
      for (const [sets, coerce] of [
        [dflt, false],
        [valid, false],
        [dflt, true],
        [valid, true],
      ] as const) {
        if (sets === dflt && !favourDefault) continue;
        const r = await this.bindPositionalInSet(sets, at, value, coerce);
        error = r.error;
        bound = r.bound;
        if (bound) break;
      }
      if (!bound) rest.push(arg);
      else if (valid !== this.current) {
        valid = this.current;
        // UpdatePositionalDictionary: set entries outside the valid sets go, and parameters left with none.
        for (const params of byPosition.values()) {
          for (const [p, entries] of params) {
            const kept = entries.filter((s) => this.inSets(s, valid));
            if (kept.length === 0) params.delete(p);
            else params.set(p, kept);
          }
        }
      }
    }
    rest.push(...args.slice(index));
    return { rest, error };
  }

  /**
   * BindPositionalParametersInSet: every parameter at this position in `sets` tries the value (each binds it that
   * can). Transformation and validation failures end binding; other failures are kept and the next one tries.
   */
  async bindPositionalInSet(
    sets: number,
    at: PositionalParameters,
    value: ArgumentValue,
    coerce: boolean,
  ): Promise<{ bound: boolean; error?: PSRemotingError }> {
    let bound = false;
    let error: PSRemotingError | undefined;
    for (const [p, entries] of at) {
      for (const s of entries) {
        if (!this.inSets(s, sets)) continue;
        let ok = false;
        try {
          ok = await this.bindParameter(p, value, coerce, sets);
        } catch (e) {
          if (
            !(e instanceof PSRemotingError) ||
            /^ParameterArgument(Validation|Transformation)/.test(e.errorId)
          )
            throw e;
          error = e;
        }
        if (ok) {
          bound = true;
          break;
        }
      }
    }
    return { bound, error };
  }

  /** ValidParameterSetCount: uint.MaxValue counts as one. */
  count(flags: number): number {
    if (flags === ALL_FLAGS) return 1;
    let n = 0;
    for (let f = flags; f !== 0; f >>>= 1) n += f & 1;
    return n;
  }

  /** AtLeastOneUnboundValidParameterSetTakesPipelineInput. */
  unboundTakesPipelineInput(flags: number): boolean {
    return this.meta.parameters.some(
      (p) =>
        !this.bound.has(p.name) &&
        p.sets.some(
          (s) => this.inSets(s, flags) && (s.valueFromPipeline || s.valueFromPipelineByPropertyName),
        ),
    );
  }

  /** ValidateParameterSets (CmdletParameterBinderController.cs). */
  validateParameterSets(prePipelineInput: boolean, setDefault: boolean): void {
    const n = this.count(this.current);
    const ambiguous = () => bindError('AmbiguousParameterSet', MSG.ambiguousSet);
    if (n === 0) throw ambiguous();
    const dflt = this.defaultFlag;
    if (n > 1) {
      if ((!prePipelineInput && this.current === dflt) || (dflt !== 0 && (this.current & dflt) !== 0)) {
        if (setDefault) this.current = dflt;
      } else if (prePipelineInput && this.unboundTakesPipelineInput(this.current)) {
        // The sets wait for pipeline input.
      } else if (!this.resolveByMandatoryParameters()) {
        throw ambiguous();
      }
    } else if (this.current === ALL_FLAGS) {
      if (prePipelineInput && this.unboundTakesPipelineInput(this.current)) {
        // The sets wait for pipeline input.
      } else if (dflt !== 0) {
        if (setDefault) this.current = dflt;
      } else if (this.meta.parameterSets.length > 1 && !this.resolveByMandatoryParameters()) {
        throw ambiguous();
      }
    }
  }

  /** ResolveParameterSetAmbiguityBasedOnMandatoryParameters: the one valid set with no unbound mandatory parameter. */
  resolveByMandatoryParameters(): boolean {
    let remaining = this.current;
    let all = 0;
    for (const p of this.meta.parameters) all = (all | this.flagsOf(p)) >>> 0;
    remaining = (remaining & all) >>> 0;
    for (const p of this.meta.parameters) {
      if (this.bound.has(p.name)) continue;
      for (const s of p.sets) if (s.mandatory) remaining = (remaining & ~this.setFlag(s.name)) >>> 0;
    }
    if (this.count(remaining) !== 1) return false;
    this.current = remaining;
    return true;
  }

  /** VerifyArgumentsProcessed (CmdletParameterBinderController.cs): the first argument nothing took. */
  verifyArgumentsProcessed(rest: readonly Argument[], positionalError: PSRemotingError | undefined): void {
    const a = rest[0];
    if (!a) return;
    if (a.name !== undefined) {
      throw bindError('NamedParameterNotFound', MSG.namedNotFound(a.name), 'InvalidArgument', a.name);
    }
    if (positionalError) throw positionalError;
    const v = a.value as ArgumentValue;
    const text = v.kind === 'null' ? '$null' : valueText(v);
    throw bindError('PositionalParameterNotFound', MSG.positionalNotFound(text), 'InvalidArgument', text);
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
      await this.bindParameter(p, { kind: 'string', value: text }, true, this.current);
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
