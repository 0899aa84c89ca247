import type { Socket } from 'node:net';
import {
  type BoundParameters,
  isPSRemotingError,
  PSRemotingError,
  type ResolvedSessionOptions,
  type SessionInfo,
  type SessionSelector,
} from '@psremote/core';
import type { EarlyAttach } from '../fast-path.ts';
import { runInvoke } from '../invoke-command.ts';
import { EXIT, type MainIo } from '../io.ts';
import { runRepl } from '../repl.ts';
import type { Terminal } from '../terminal/line-terminal.ts';
import { mark } from '../timing.ts';
import { AgentClient } from './client.ts';
import type { Message } from './frames.ts';
import { rawUiSnapshot } from './relay-host-ui.ts';
import { AgentSessionShell } from './remote-session.ts';
import type { AgentSessionInfo } from './server.ts';
import { formatSessionTable } from './table-view.ts';

/** The sets that name a session the agent holds. */
export const AGENT_SETS: ReadonlySet<string> = new Set(['Id', 'Name', 'InstanceId']);

/** The selector of a bound Id, Name or InstanceId set. */
export function selectorOf(bound: BoundParameters): SessionSelector {
  const b = bound.bound;
  if (bound.parameterSet === 'Id') return { id: Number(b.Id) };
  if (bound.parameterSet === 'Name') return { name: String(b.Name) };
  return { instanceId: String(b.InstanceId) };
}

/**
 * New-PSSession's -Name, taken out before the rest is bound as Enter-PSSession's target parameters (where -Name
 * would be the Name set instead). Only the whole name (or `-Name:value`) is taken: `-N` stays the binder's.
 */
export function extractNewName(args: readonly string[]): {
  name?: string;
  rest: string[];
  error?: PSRemotingError;
} {
  const rest: string[] = [];
  let name: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const m = /^-name(?::(.*))?$/i.exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    const value = m[1] ?? args[++i];
    if (value === undefined || (m[1] === undefined && /^-./.test(value)))
      return { rest, error: missingArgument('Name', 'New-PSSession') };
    name = value;
  }
  return { ...(name !== undefined ? { name } : {}), rest };
}

function missingArgument(parameter: string, command: string): PSRemotingError {
  return new PSRemotingError(
    `Missing an argument for parameter '${parameter}'. Specify a parameter of type 'System.String' and try again.`,
    {
      errorId: 'MissingArgument',
      category: 'InvalidArgument',
      targetObject: parameter,
      commandName: `Microsoft.PowerShell.Commands.${command.replace('-', '')}Command`,
    },
  );
}

/**
 * Get-PSSession's and Remove-PSSession's filters: `-Id 1,2`, `-Name web,db`, `-InstanceId <guid>` (any unique
 * prefix of the parameter name, as PowerShell matches them).
 */
export function parseFilters(
  args: readonly string[],
  command: 'Get-PSSession' | 'Remove-PSSession',
): { selectors: SessionSelector[]; error?: PSRemotingError } {
  const selectors: SessionSelector[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const m = /^-([A-Za-z]+)(?::(.*))?$/.exec(a);
    const which = m
      ? 'id'.startsWith((m[1] as string).toLowerCase()) && (m[1] as string).length >= 2
        ? 'id'
        : 'name'.startsWith((m[1] as string).toLowerCase())
          ? 'name'
          : 'instanceid'.startsWith((m[1] as string).toLowerCase()) && (m[1] as string).length >= 2
            ? 'instanceId'
            : undefined
      : undefined;
    if (!m || !which) {
      return {
        selectors,
        error: new PSRemotingError(
          `A parameter cannot be found that matches parameter name '${a.replace(/^-/, '')}'.`,
          {
            errorId: 'NamedParameterNotFound',
            category: 'InvalidArgument',
            targetObject: a,
            commandName: `Microsoft.PowerShell.Commands.${command.replace('-', '')}Command`,
          },
        ),
      };
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) return { selectors, error: missingArgument(which, command) };
    for (const v of value
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      if (which === 'id') {
        const n = Number(v);
        if (!Number.isInteger(n))
          return {
            selectors,
            error: new PSRemotingError(
              `Cannot bind parameter 'Id'. Cannot convert value "${v}" to type "System.Int32". Error: "The input string '${v}' was not in a correct format."`,
              {
                errorId: 'CannotConvertArgumentNoMessage',
                category: 'InvalidArgument',
                targetObject: v,
                commandName: `Microsoft.PowerShell.Commands.${command.replace('-', '')}Command`,
              },
            ),
          };
        selectors.push({ id: n });
      } else if (which === 'name') selectors.push({ name: v });
      else selectors.push({ instanceId: v.toLowerCase() });
    }
  }
  return { selectors };
}

function matches(info: SessionInfo, sel: SessionSelector): boolean {
  if ('id' in sel) return info.id === sel.id;
  if ('name' in sel) return wildcard(sel.name).test(info.name);
  if ('instanceId' in sel) return info.instanceId === sel.instanceId.toLowerCase();
  return false;
}

/** Get-PSSession -Name takes wildcards. */
function wildcard(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** `psremote new`: opens a session in the agent (started if need be) and prints it as New-PSSession does. */
export async function runNew(
  request: {
    bound: BoundParameters | undefined;
    name: string | undefined;
    pwsh: string | undefined;
    sessionOptions: ResolvedSessionOptions;
  },
  io: MainIo,
  terminal: Terminal,
): Promise<number> {
  // Ctrl+C while the agent is being started or greeted (up to 10 s each) cancels as it does during the open.
  const connectAbort = new AbortController();
  const offConnectInterrupt = terminal.onInterrupt(() => connectAbort.abort(openCancelledByUser()));
  let client: AgentClient | undefined;
  try {
    client = await AgentClient.connect(io.env, { start: true, signal: connectAbort.signal });
  } finally {
    offConnectInterrupt();
  }
  if (!client) return EXIT.failed;
  const agent = client;
  agent.hostUi = terminal.hostUi;
  const offInterrupt = terminal.onInterrupt(() => {
    try {
      agent.send({ t: 'interrupt' });
    } catch {
      // gone
    }
  });
  try {
    const m = await client.request({
      t: 'new',
      bound: request.bound ?? null,
      ...(request.name !== undefined ? { name: request.name } : {}),
      ...(request.pwsh !== undefined ? { pwsh: request.pwsh } : {}),
      sessionOptions: request.sessionOptions,
      env: io.env,
      interactive: terminal.interactive,
      raw: rawUiSnapshot(terminal.hostUi),
    });
    io.stdout.write(formatSessionTable([m.info as SessionInfo]));
    return EXIT.ok;
  } finally {
    offInterrupt();
    client.close();
  }
}

/** The error an open cancelled with Ctrl+C gives (core's openCancelled: OperationStopped). */
function openCancelledByUser(): PSRemotingError {
  return new PSRemotingError('Opening the session was cancelled.', {
    errorId: 'OperationStopped',
    category: 'OperationStopped',
  });
}

/** `psremote get [-Id|-Name|-InstanceId ...] [--json]`: the agent's sessions (none when no agent runs). */
export async function runGet(
  selectors: readonly SessionSelector[],
  json: boolean,
  io: MainIo,
): Promise<number> {
  const client = await AgentClient.connect(io.env, { start: false });
  let rows: AgentSessionInfo[] = [];
  if (client) {
    try {
      rows = (await client.request({ t: 'get' })).sessions as AgentSessionInfo[];
    } finally {
      client.close();
    }
  }
  if (selectors.length > 0) rows = rows.filter((r) => selectors.some((s) => matches(r, s)));
  if (json) for (const r of rows) io.stdout.write(`${JSON.stringify(r)}\n`);
  else io.stdout.write(formatSessionTable(rows));
  return EXIT.ok;
}

/** `psremote remove -Id|-Name|-InstanceId ...`: Remove-PSSession (closed on the server, out of the table). */
export async function runRemove(selectors: readonly SessionSelector[], io: MainIo): Promise<number> {
  const client = await AgentClient.connect(io.env, { start: false });
  if (!client) throw notAvailable(selectors[0], 'Microsoft.PowerShell.Commands.RemovePSSessionCommand');
  try {
    await client.request({ t: 'remove', selectors });
    return EXIT.ok;
  } finally {
    client.close();
  }
}

const GET_PSSESSION_COMMAND = 'Microsoft.PowerShell.Commands.GetPSSessionCommand';

/** The errors of finding a session by -Id, -Name or -InstanceId (core's findSession). */
const LOOKUP_ERROR_IDS: ReadonlySet<string> = new Set([
  'RemoteRunspaceNotAvailableForSpecifiedSessionId',
  'RemoteRunspaceNotAvailableForSpecifiedName',
  'RemoteRunspaceNotAvailableForSpecifiedRunspaceId',
  'RemoteRunspaceHasMultipleMatchesForSpecifiedName',
]);

/** A lookup error of the agent, as the cmdlet `commandName` names raises it; any other error as it is. */
function lookupErrorOf(e: unknown, commandName: string): unknown {
  if (!isPSRemotingError(e) || !LOOKUP_ERROR_IDS.has(e.errorId)) return e;
  return new PSRemotingError(e.message, {
    errorId: e.errorId,
    category: e.category,
    ...(e.targetObject !== undefined ? { targetObject: e.targetObject } : {}),
    commandName,
  });
}

function notAvailable(
  sel: SessionSelector | undefined,
  commandName: string = 'Microsoft.PowerShell.Commands.EnterPSSessionCommand',
): PSRemotingError {
  if (sel && 'id' in sel)
    return new PSRemotingError(`The remote session with the session ID ${sel.id} is not available.`, {
      errorId: 'RemoteRunspaceNotAvailableForSpecifiedSessionId',
      category: 'InvalidArgument',
      targetObject: sel.id,
      commandName,
    });
  if (sel && 'name' in sel)
    return new PSRemotingError(`The remote session with the name ${sel.name}  is not available.`, {
      errorId: 'RemoteRunspaceNotAvailableForSpecifiedName',
      category: 'InvalidArgument',
      targetObject: sel.name,
      commandName,
    });
  const id = sel && 'instanceId' in sel ? sel.instanceId : '';
  return new PSRemotingError(`Remote session is not available for ${id}.`, {
    errorId: 'RemoteRunspaceNotAvailableForSpecifiedRunspaceId',
    category: 'InvalidArgument',
    targetObject: id,
    commandName,
  });
}

/**
 * The connection bin.js opened (fast-path.ts connectEarly), on which it greeted the agent and asked for the session
 * `sent.selector` and its prompt. Taken when that is what this command binds to and the terminal's RawUI is the one
 * sent: the attach result (or its error, thrown) and the prompt the agent pushes after it. Otherwise what was asked
 * is undone (leave) and the connection is used the usual way. Undefined when the greeting failed (the usual
 * connect then reports why, starting over).
 */
export async function enterEarly(
  sent: EarlyAttach,
  taken: { socket: Socket; received: Buffer[] },
  selector: SessionSelector,
  terminal: Terminal,
): Promise<
  { client: AgentClient; attached?: Message; prompt?: { raw: string; answer: Promise<Message> } } | undefined
> {
  const client = AgentClient.adopt(taken.socket, taken.received, terminal.hostUi);
  let pushes: boolean;
  try {
    const hello = await client.next();
    if (hello.t !== 'hello') throw new Error('no greeting');
    pushes = Array.isArray(hello.features) && hello.features.includes('attachPrompt');
  } catch {
    client.close();
    return undefined;
  }
  const raw = JSON.stringify(rawUiSnapshot(terminal.hostUi));
  const same =
    terminal.interactive &&
    JSON.stringify(selector) === JSON.stringify(sent.selector) &&
    raw === JSON.stringify(sent.raw);
  if (same) {
    const attached = await client.next().catch((e: unknown) => {
      client.close();
      throw e;
    });
    if (!pushes) return { client, attached };
    const answer = client.next();
    answer.catch(() => {}); // read by the first prompt
    return { client, attached, prompt: { raw, answer } };
  }
  // Not this command's session: undone before the usual attach.
  try {
    await client.next();
    if (pushes) await client.next().catch(() => {});
    await client.request({ t: 'leave' });
  } catch {
    // The attach failed (no such session, busy): nothing to undo.
  }
  return { client };
}

/**
 * `psremote enter -Id|-Name|-InstanceId` and `psremote invoke -Id|... -Command`: the session the agent holds,
 * with this terminal as its host. `exit` leaves it open (a session New-PSSession made).
 */
export async function runInAgentSession(
  mode: 'enter' | 'invoke',
  selector: SessionSelector,
  request: { script?: string; json: boolean },
  io: MainIo,
  terminal: Terminal,
): Promise<number> {
  // Invoke-Command has no -Id, -Name or -InstanceId: `Invoke-Command -Session (Get-PSSession -Id 7)` is the
  // nearest pwsh form, and there it is Get-PSSession that finds no such session.
  const lookup = mode === 'invoke' ? GET_PSSESSION_COMMAND : undefined;
  const taken = mode === 'enter' ? io.early?.take() : undefined;
  const early = taken && io.early ? await enterEarly(io.early.attach, taken, selector, terminal) : undefined;
  mark('connecting to the agent');
  const client = early?.client ?? (await AgentClient.connect(io.env, { start: false }));
  if (!client) throw notAvailable(selector, lookup);
  mark('agent greeted');
  try {
    const shell = new AgentSessionShell(client, terminal.hostUi);
    const attached =
      early?.attached ??
      (await client
        .request({
          t: 'attach',
          selector,
          mode,
          pid: process.pid,
          interactive: terminal.interactive,
          raw: rawUiSnapshot(terminal.hostUi),
        })
        .catch((e: unknown) => {
          throw lookup ? lookupErrorOf(e, lookup) : e;
        }));
    if (early?.prompt) shell.usePushedPrompt(early.prompt.raw, early.prompt.answer);
    mark('attached');
    if (mode === 'invoke') {
      const width = io.stdout.columns && io.stdout.columns > 20 ? io.stdout.columns : 120;
      return await runInvoke(
        { invoke: () => shell.invokeScript(request.script ?? '', request.json, width) },
        request.script ?? '',
        { json: request.json },
        io,
        terminal,
      );
    }
    terminal.useHistory((attached.info as SessionInfo).computerName);
    return await runRepl(shell, terminal, io);
  } finally {
    client.close();
  }
}
