import { readFileSync } from 'node:fs';
import {
  type BoundParameters,
  bindEnterPSSession,
  type ErrorId,
  guardPlugin,
  type HostUi,
  InteractiveSession,
  isPSRemotingError,
  openSession,
  PSRemotingError,
  type PSSession,
  parseArguments,
  parseSessionOptionText,
  type ResolvedSessionOptions,
  renderSyntax,
  resolveSessionOptions,
  selectTransport,
  type TransportPlugin,
  type TransportTarget,
} from '@psremote/core';
import { createProcessTransport } from '@psremote/transport-process';
import {
  AGENT_SETS,
  extractNewName,
  parseFilters,
  runGet,
  runInAgentSession,
  runNew,
  runRemove,
  selectorOf,
} from './agent/verbs.ts';
import {
  type CliOptions,
  splitArguments,
  unknownCommand,
  unknownOptions,
  usageError,
} from './cli-options.ts';
import { installCommand, thisInstallKind } from './install-hint.ts';
import { runInvoke } from './invoke-command.ts';
import { EXIT, type MainIo } from './io.ts';
import { END_GRACE_MS, ProcessEnd } from './process-end.ts';
import { runRepl } from './repl.ts';
import { createTerminal, type Terminal } from './terminal/line-terminal.ts';
import { formatLocalError } from './terminal/render.ts';
import { mark } from './timing.ts';
import { createTransportContainer, registeredTransports, registerInstalledTransports } from './transports.ts';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

const USAGE = `psremote: Enter-PSSession for Node.js

Usage:
  psremote enter [Enter-PSSession parameters] [--dry-run]
  psremote invoke [Enter-PSSession target parameters] -Command '<script>' [--json]
  psremote new [Enter-PSSession target parameters] [-Name <name>]
  psremote get [-Id <n>[,<n>]] [-Name <name>] [-InstanceId <guid>] [--json]
  psremote enter -Id <n> | -Name <name> | -InstanceId <guid>
  psremote invoke -Id <n> | -Name <name> | -InstanceId <guid> -Command '<script>' [--json]
  psremote remove -Id <n> | -Name <name> | -InstanceId <guid>
  psremote --help | --version

With no target, 'psremote enter' opens a session on the local pwsh.
'psremote new' opens a session held by a per-user background agent: enter it from any terminal with -Id or
-Name, as often as wanted (exit leaves it open, its variables kept), until 'psremote remove'.
Parameters are written as after Enter-PSSession at a pwsh prompt. Options of psremote start with --.
  --session-option "@{OpenTimeout='00:00:30'; MaximumReceivedObjectSize=$null}"
      PSSessionOption values for every transport (as $PSSessionOption; -SessionOption wins where it binds)
  --password-stdin
      psremote invoke: the password of -Credential is the first line of stdin, for scripts
      (printf '%s\n' "$pw" | psremote invoke -ComputerName srv01 -Credential DOMme -Command ... --password-stdin)
`;

export async function main(argv: readonly string[], io: MainIo): Promise<number> {
  mark('main');
  // SIGTERM, SIGHUP, a closed stdout/stderr: the session is closed, then psremote ends quietly (process-end.ts).
  const end = new ProcessEnd(io);
  try {
    const status = await dispatch(argv, end.io, end);
    return end.status ?? status;
  } catch (e) {
    if (end.status !== undefined) return end.status;
    throw e;
  } finally {
    end.dispose();
  }
}

async function dispatch(argv: readonly string[], io: MainIo, end: ProcessEnd): Promise<number> {
  const { command, options, psArguments } = splitArguments(argv);
  if (options.version) {
    io.stdout.write(`psremote ${version()}\n`);
    return EXIT.ok;
  }
  if (options.help || command === undefined || command === 'help') {
    io.stdout.write(USAGE);
    if (command === 'enter' || command === undefined || command === 'help') {
      io.stdout.write(`\nSYNTAX (Enter-PSSession)\n${renderSyntax()}\n`);
    }
    return command === undefined && !options.help ? EXIT.usage : EXIT.ok;
  }
  if (options.error) {
    io.stderr.write(`${formatLocalError(options.error)}\n`);
    return EXIT.usage;
  }
  if (options.unknown.length > 0) {
    io.stderr.write(`${formatLocalError(unknownOptions(options.unknown))}\n`);
    return EXIT.usage;
  }
  if (command === 'get' || command === 'remove') return await runTableVerb(command, psArguments, options, io);
  if (command !== 'enter' && command !== 'invoke' && command !== 'new') {
    io.stderr.write(`${formatLocalError(unknownCommand(command))}\n`);
    return EXIT.usage;
  }

  // invoke keeps stdout for the command's output (text or JSON lines): the host's own text (warnings, verbose,
  // progress, prompts, an SSH banner) goes to stderr. enter writes as pwsh's console host does.
  const terminal = createTerminal(command === 'invoke' ? { ...io, stdout: io.stderr } : io, {
    noColor: options.noColor,
    typeAhead: command === 'enter',
  });
  // Ending early stops what runs (the command, a connect) as Ctrl+C does, and ends a pending read.
  const offEnd = end.onEnd(() => terminal.stopAll());
  try {
    return await run(command, psArguments, options, io, terminal, end);
  } finally {
    offEnd();
    terminal.close();
  }
}

/** `psremote get` and `psremote remove`: the agent's table, no terminal needed. */
async function runTableVerb(
  command: 'get' | 'remove',
  psArguments: readonly string[],
  options: CliOptions,
  io: MainIo,
): Promise<number> {
  const cmdlet = command === 'get' ? 'Get-PSSession' : 'Remove-PSSession';
  const terminal = createTerminal(io, { noColor: options.noColor, typeAhead: false });
  try {
    const { selectors, error } = parseFilters(psArguments, cmdlet);
    if (error) {
      io.stderr.write(`${terminal.formatLocalError(error)}\n`);
      return EXIT.usage;
    }
    if (command === 'get') return await runGet(selectors, options.json, io);
    if (selectors.length === 0) {
      io.stderr.write(
        `${terminal.formatLocalError(
          new PSRemotingError('psremote remove needs the sessions to remove: -Id, -Name or -InstanceId.', {
            errorId: 'MissingMandatoryParameter',
            category: 'InvalidArgument',
            commandName: 'Microsoft.PowerShell.Commands.RemovePSSessionCommand',
          }),
        )}\n`,
      );
      return EXIT.usage;
    }
    return await runRemove(selectors, io);
  } catch (e) {
    return reportStartError(e, options, io, terminal, EXIT.failed);
  } finally {
    terminal.close();
  }
}

async function run(
  command: 'enter' | 'invoke' | 'new',
  psArguments: readonly string[],
  options: CliOptions,
  io: MainIo,
  terminal: Terminal,
  end: ProcessEnd,
): Promise<number> {
  // Loaded when a target needs one (a session the agent holds needs none here: the agent has its own).
  const loadTransports = async () => {
    const container = await createTransportContainer();
    const installed = await registerInstalledTransports(container, io.env, (m) => io.stderr.write(`${m}\n`));
    return { installed, plugins: registeredTransports(container) };
  };

  let script: string | undefined;
  let bindArgs = psArguments;
  let newName: string | undefined;
  if (command === 'new') {
    const split = extractNewName(psArguments);
    if (split.error) {
      io.stderr.write(`${terminal.formatLocalError(split.error)}\n`);
      return EXIT.usage;
    }
    newName = split.name;
    bindArgs = split.rest;
  }
  if (command === 'invoke') {
    const split = extractCommand(psArguments);
    if (split.error) {
      io.stderr.write(`${terminal.formatLocalError(split.error)}\n`);
      return EXIT.usage;
    }
    script = split.script;
    bindArgs = split.rest;
  }

  // Bind as PowerShell would. No arguments at all: the local session (Enter-PSSession's Example 1).
  let bound: BoundParameters | undefined;
  let plugin: TransportPlugin | undefined;
  let transportError: PSRemotingError | undefined;
  let sessionOptions: ResolvedSessionOptions;
  /** Bound to the Id, Name or InstanceId set: a session `psremote new` opened, held by the agent. */
  let agentSession: BoundParameters | undefined;
  try {
    if (bindArgs.length === 0) {
      plugin = createProcessTransport(options.pwsh ? { pwshPath: options.pwsh } : {});
    } else {
      const credentialPassword = options.passwordStdin
        ? await readPasswordFromStdin(command, bindArgs, io)
        : undefined;
      bound = await bindEnterPSSession(parseArguments(bindArgs, io.env), {
        interactive: terminal.interactive && !options.dryRun,
        hostUi: terminal.hostUi,
        deferCredentialPrompt: options.dryRun,
        ...(credentialPassword !== undefined ? { credentialPassword } : {}),
      });
      if (options.pwsh !== undefined) throw pwshNotApplicable(bound.parameterSet);
      if (command !== 'new' && AGENT_SETS.has(bound.parameterSet) && !options.dryRun) agentSession = bound;
      else
        try {
          const { installed, plugins } = await loadTransports();
          plugin = selectTransport(plugins, bound.parameterSet, {
            placeholders: installed.placeholders,
            // npm install -g for a global psremote, npm install for a project's (install-hint.ts).
            installCommand: (pkg) => installCommand(pkg, thisInstallKind(io.env)),
          });
        } catch (e) {
          if (!isPSRemotingError(e) || !options.dryRun) throw e;
          transportError = e;
        }
    }
    // -SessionOption (where Enter-PSSession binds it) replaces --session-option, as it replaces $PSSessionOption.
    const given = bound?.bound.SessionOption;
    sessionOptions = resolveSessionOptions(
      given !== undefined && given !== null
        ? given
        : options.sessionOption !== undefined
          ? parseSessionOptionText(options.sessionOption, io.env)
          : undefined,
    );
  } catch (e) {
    return reportStartError(e, options, io, terminal, EXIT.usage);
  }

  if (options.dryRun) {
    const target = plugin ? safeResolve(plugin, bound, io.env) : undefined;
    io.stdout.write(
      `${JSON.stringify({
        parameterSet: bound?.parameterSet ?? null,
        bound: withoutSecrets(bound?.bound ?? {}),
        transport: plugin?.name ?? null,
        ...(options.sessionOption !== undefined || bound?.bound.SessionOption !== undefined
          ? { sessionOptions }
          : {}),
        ...(transportError
          ? { transportError: { errorId: transportError.errorId, message: transportError.message } }
          : {}),
        ...(target === undefined
          ? {}
          : target.ok
            ? {
                computerName: target.value.computerName,
                ...(target.value.summary ? { target: target.value.summary } : {}),
              }
            : { targetError: target.error }),
      })}\n`,
    );
    return EXIT.ok;
  }
  if (agentSession && command !== 'new') {
    try {
      // This terminal is the host of the agent's session: its prompts, output and Ctrl+C.
      return await runInAgentSession(
        command,
        selectorOf(agentSession),
        { ...(script !== undefined ? { script } : {}), json: options.json },
        io,
        terminal,
      );
    } catch (e) {
      return reportStartError(e, options, io, terminal, EXIT.failed);
    }
  }
  if (!plugin) return EXIT.usage;
  if (command === 'new') {
    try {
      return await runNew({ bound, name: newName, pwsh: options.pwsh, sessionOptions }, io, terminal);
    } catch (e) {
      return reportStartError(e, options, io, terminal, EXIT.failed);
    }
  }

  const connectAbort = new AbortController();
  const offInterrupt = terminal.onInterrupt(() => connectAbort.abort());
  let session: Awaited<ReturnType<typeof openSession>>;
  try {
    session = await openSession({
      transport: plugin,
      ...(bound ? { bound } : {}),
      hostUi: terminal.hostUi,
      signal: connectAbort.signal,
      env: io.env,
      sessionOptions,
    });
  } catch (e) {
    return reportStartError(e, options, io, terminal, EXIT.failed);
  } finally {
    offInterrupt();
  }

  // An early end (a signal, a closed stdout) has stopped the command; the run below then ends as after Ctrl+C
  // and its finally closes the session. pwsh answers the session's Close only once every pipeline is closed
  // (OutOfProcServerMediator waits for them), so the close waits for that. A command that does not stop within
  // END_GRACE_MS is not waited for: the transport is disposed (the local pwsh killed).
  const offEnd = end.onEnd(() => {
    setTimeout(() => void forceClose(session), END_GRACE_MS).unref();
  });
  try {
    // Ended while connecting, and the connect won the race: nothing more runs.
    if (end.status !== undefined) return end.status;
    if (command === 'invoke')
      return await runInvoke(session, script ?? '', { json: options.json }, io, terminal);
    terminal.useHistory(session.computerName);
    const shell = new InteractiveSession(session);
    // Ctrl+C while Enter-PSSession checks the remote commands: stop them, and end a session that does not answer.
    const offEnterInterrupt = terminal.onInterrupt(() => session.interrupt());
    try {
      await shell.enter();
    } catch (e) {
      return reportStartError(
        e,
        options,
        io,
        terminal,
        session.state === 'Broken' ? EXIT.broken : EXIT.failed,
      );
    } finally {
      offEnterInterrupt();
    }
    return await runRepl(shell, terminal, io);
  } finally {
    offEnd();
    // Ctrl+C while the session closes (the CloseAck waits up to 10 s, the transport's dispose 3 s more) does not
    // wait for the server: the transport is torn down at once. The exit status stays the one the command set.
    const offCloseInterrupt = terminal.onInterrupt(() => void forceClose(session));
    try {
      await session.close();
    } finally {
      offCloseInterrupt();
    }
  }
}

/**
 * Closes without waiting for the server: a session.close() while one is under way does not wait for the
 * CloseAck again, it disposes the transport at once (OutOfProc connection close()).
 */
async function forceClose(session: PSSession): Promise<void> {
  void session.close().catch(() => {});
  await session.close().catch(() => {});
}

function safeResolve(
  plugin: TransportPlugin,
  bound: BoundParameters | undefined,
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; value: TransportTarget } | { ok: false; error: { errorId: string; message: string } } {
  try {
    return {
      ok: true,
      // As the kernel calls it: a failure is a PSRemotingError (TransportPluginFailed when the plugin threw another).
      value: guardPlugin(plugin).resolveTarget(bound ?? { parameterSet: 'ComputerName', bound: {} }, env),
    };
  } catch (e) {
    const err = e as PSRemotingError;
    return { ok: false, error: { errorId: err.errorId, message: err.message } };
  }
}

function reportStartError(
  e: unknown,
  options: CliOptions,
  io: MainIo,
  terminal: Terminal,
  status: number,
): number {
  if (!isPSRemotingError(e)) {
    // A defect of ours: still no stack trace for the user, but enough to report it.
    const err = e as Error;
    io.stderr.write(`psremote: internal error: ${err?.message ?? String(e)}\n`);
    if (io.env.PSREMOTE_DEBUG) io.stderr.write(`${err?.stack}\n`);
    return EXIT.failed;
  }
  if (options.dryRun) {
    io.stdout.write(`${JSON.stringify({ errorId: e.errorId, message: e.message })}\n`);
    return status;
  }
  io.stderr.write(`${terminal.formatLocalError(e)}\n`);
  return status;
}

/** The bound parameters as --dry-run prints them: a credential shows its user name, never its password. */
function withoutSecrets(bound: BoundParameters['bound']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(bound)) {
    out[name] =
      value !== null && typeof value === 'object' && !Array.isArray(value) && 'password' in value
        ? { userName: (value as { userName?: unknown }).userName }
        : value;
  }
  return out;
}

/** Longest password line `--password-stdin` reads (a password, not a file). */
const PASSWORD_STDIN_MAX = 64 * 1024;

/**
 * `--password-stdin` (as `docker login --password-stdin`): the first line of stdin, without its line end, is the
 * password of -Credential. Only for `psremote invoke` (enter reads its commands from stdin), only with -Credential,
 * never from a terminal (type it at the prompt instead).
 */
async function readPasswordFromStdin(
  command: 'enter' | 'invoke' | 'new',
  bindArgs: readonly string[],
  io: MainIo,
): Promise<string> {
  const refuse = (errorId: ErrorId, message: string, action: string) =>
    new PSRemotingError(message, {
      errorId,
      category: 'InvalidArgument',
      targetObject: '--password-stdin',
      recommendedAction: action,
    });
  if (command === 'enter')
    throw refuse(
      'PasswordStdinNotApplicable',
      "psremote's option '--password-stdin' applies to psremote invoke: psremote enter reads its commands from stdin and asks for the password at the prompt.",
      'Remove --password-stdin; psremote enter asks for the password.',
    );
  if (!bindArgs.some((a) => /^-cr(e(d(e(n(t(i(a(l)?)?)?)?)?)?)?)?(:|$)/i.test(a)))
    throw refuse(
      'PasswordStdinNeedsCredential',
      "psremote's option '--password-stdin' gives the password of -Credential, and no -Credential was given.",
      'Add -Credential <user>.',
    );
  if (io.stdin.isTTY)
    throw refuse(
      'PasswordStdinIsTerminal',
      "psremote's option '--password-stdin' reads the password from a pipe or a file, and stdin is a terminal.",
      'Pipe the password in, or leave --password-stdin out to be asked for it.',
    );
  // Read up to the first line end and stop there (the stream paused, not destroyed: the rest stays unread).
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const stdin = io.stdin;
    const done = () => {
      stdin.off('data', onData);
      stdin.off('end', done);
      stdin.off('error', onError);
      stdin.pause();
      resolve();
    };
    const onError = (e: Error) => {
      done();
      reject(e);
    };
    const onData = (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(b);
      size += b.length;
      if (b.indexOf(0x0a) >= 0 || size > PASSWORD_STDIN_MAX) done();
    };
    stdin.on('data', onData);
    stdin.once('end', done);
    stdin.once('error', onError);
  });
  const text = Buffer.concat(chunks).toString('utf8');
  const end = text.indexOf('\n');
  if (end < 0 && size > PASSWORD_STDIN_MAX)
    throw refuse(
      'PasswordStdinTooLong',
      `psremote's option '--password-stdin' read more than ${PASSWORD_STDIN_MAX} bytes without a line end: that is not a password.`,
      'Give the password alone on the first line of stdin.',
    );
  return (end < 0 ? text : text.slice(0, end)).replace(/\r$/, '');
}

/** `--pwsh` names the local PowerShell of the session without a target: with a target it would be ignored. */
function pwshNotApplicable(parameterSet: string): PSRemotingError {
  return new PSRemotingError(
    `psremote's option '--pwsh' chooses the local PowerShell for a session without a target; it does not apply to a session of the ${parameterSet} parameter set, whose PowerShell is the remote one. Remove --pwsh, or give no Enter-PSSession parameters to start the local session.`,
    {
      errorId: 'PwshOptionNotApplicable',
      category: 'InvalidArgument',
      targetObject: '--pwsh',
      recommendedAction: 'Remove --pwsh, or give no Enter-PSSession parameters.',
    },
  );
}

/** `-Command '<script>'` (any unique prefix, as PowerShell matches parameter names) for `psremote invoke`. */
function extractCommand(args: readonly string[]): {
  script?: string;
  rest: readonly string[];
  error?: PSRemotingError;
} {
  const rest: string[] = [];
  let script: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const m = /^-(com|comm|comma|comman|command|scriptblock)(?::(.*))?$/i.exec(a);
    if (m) {
      script = m[2] ?? args[++i];
      continue;
    }
    rest.push(a);
  }
  if (script === undefined) {
    return {
      rest,
      error: usageError("psremote invoke needs -Command '<script>'.", 'MissingArgument'),
    };
  }
  return { script, rest };
}

export type { HostUi };
