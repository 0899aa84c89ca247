import { PSRemotingError } from '@psremote/core';

/**
 * psremote's own options: every token that starts with `--`, anywhere on the line (issue 3). Everything else
 * is an Enter-PSSession argument and goes to the binder untouched.
 */
export interface CliOptions {
  readonly help: boolean;
  readonly version: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly noColor: boolean;
  /** `--password-stdin`: the -Credential password is the first line of stdin (scripts; never argv or env). */
  readonly passwordStdin: boolean;
  /** `--pwsh <path>` / `--pwsh=<path>`: the local PowerShell for the no-target session. */
  readonly pwsh: string | undefined;
  /**
   * `--session-option '@{...}'`: PSSessionOption values (OpenTimeout, CancelTimeout, MaximumReceivedObjectSize...)
   * for every transport, as PowerShell's $PSSessionOption preference variable; -SessionOption, where Enter-PSSession
   * binds it (-ComputerName, -ConnectionUri), takes precedence.
   */
  readonly sessionOption: string | undefined;
  readonly unknown: readonly string[];
  /**
   * A psremote option written wrongly: `--pwsh` with no value (`MissingArgument`, as PowerShell's binder says
   * of a parameter followed by another parameter or by nothing), or a flag given a value
   * (`OptionTakesNoValue`). The CLI reports it and exits with the usage status.
   */
  readonly error: PSRemotingError | undefined;
}

export interface SplitArguments {
  readonly command: string | undefined;
  readonly options: CliOptions;
  readonly psArguments: readonly string[];
}

const FLAGS = new Set(['--help', '--version', '--dry-run', '--json', '--no-color', '--password-stdin']);

export function splitArguments(argv: readonly string[]): SplitArguments {
  let command: string | undefined;
  const ps: string[] = [];
  const unknown: string[] = [];
  const seen = new Set<string>();
  let pwsh: string | undefined;
  let sessionOption: string | undefined;
  let error: PSRemotingError | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith('--') && a.length > 2) {
      const [name, value] = a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
      if (name === '--pwsh') {
        // PowerShell's rule: the next token is the value unless it is itself a parameter (`-x`, `--x`).
        const next = argv[i + 1];
        const given = value ?? (next !== undefined && !/^-./.test(next) ? argv[++i] : undefined);
        if (given) pwsh = given;
        else error ??= missingValue(name);
        continue;
      }
      if (name === '--session-option') {
        // A hashtable never starts with `-`; the same rule as --pwsh.
        const next = argv[i + 1];
        const given = value ?? (next !== undefined && !/^-./.test(next) ? argv[++i] : undefined);
        if (given) sessionOption = given;
        else error ??= missingValue(name);
        continue;
      }
      if (FLAGS.has(name)) {
        seen.add(name);
        if (value !== undefined) error ??= noValue(name, a);
      } else unknown.push(a);
      continue;
    }
    if (a === '-h' && command === undefined) {
      seen.add('--help');
      continue;
    }
    if (command === undefined) command = a;
    else ps.push(a);
  }
  return {
    command,
    psArguments: ps,
    options: {
      help: seen.has('--help'),
      version: seen.has('--version'),
      dryRun: seen.has('--dry-run'),
      json: seen.has('--json'),
      noColor: seen.has('--no-color'),
      passwordStdin: seen.has('--password-stdin'),
      pwsh,
      sessionOption,
      unknown,
      error,
    },
  };
}

/** The command part of the FullyQualifiedErrorId of psremote's own option errors (`MissingArgument,psremote`). */
export const PSREMOTE_COMMAND = 'psremote';

/** A usage error of psremote's own (exit status 2): PowerShell-style, `<errorId>,psremote` as its FullyQualifiedErrorId. */
export function usageError(
  message: string,
  errorId: string,
  targetObject?: string,
  category: 'InvalidArgument' | 'ObjectNotFound' = 'InvalidArgument',
): PSRemotingError {
  return new PSRemotingError(message, {
    errorId,
    category,
    ...(targetObject !== undefined ? { targetObject } : {}),
    commandName: PSREMOTE_COMMAND,
  });
}

function missingValue(option: string): PSRemotingError {
  return usageError(
    `Missing an argument for psremote's option '${option}'. Give the path of a PowerShell executable: ${option} <path> or ${option}=<path>.`,
    'MissingArgument',
    option,
  );
}

function noValue(option: string, token: string): PSRemotingError {
  return usageError(
    `psremote's option '${option}' takes no value: '${token}'. Write ${option} alone.`,
    'OptionTakesNoValue',
    token,
  );
}

export function unknownOptions(options: readonly string[]): PSRemotingError {
  return usageError(
    `psremote has no option ${options.map((o) => `'${o}'`).join(', ')}: psremote --help lists its options. Enter-PSSession's own parameters take one dash (-ComputerName).`,
    'UnknownPsremoteOption',
    options[0],
  );
}

export function unknownCommand(command: string): PSRemotingError {
  return usageError(
    `The term '${command}' is not recognized as a psremote command. Its commands: enter, invoke, new, get, remove, help (see psremote --help).`,
    'UnknownPsremoteCommand',
    command,
    'ObjectNotFound',
  );
}
