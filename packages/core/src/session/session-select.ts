import { PSRemotingError } from '../errors/ps-remoting-error.ts';
import { InteractiveSession } from './interactive.ts';
import type { PSSession } from './session.ts';
import { defaultSessionTable, type SessionTable } from './session-table.ts';

/**
 * Which existing session to enter, invoke on or remove: Enter-PSSession's Session, Id, Name and InstanceId
 * parameter sets. `session` is the library's natural form of -Session (the object New-PSSession gave).
 */
export type SessionSelector =
  | { readonly session: PSSession }
  | { readonly id: number }
  | { readonly name: string }
  | { readonly instanceId: string };

/**
 * The session a selector names in `table`, or PowerShell's error when there is none (PushRunspaceCommand.cs
 * GetRunspaceMatching*: RemoteRunspaceNotAvailableForSpecified*, Multiple matches for a name).
 */
export function findSession(selector: SessionSelector, table: SessionTable = defaultSessionTable): PSSession {
  if ('session' in selector) return selector.session;
  const notAvailable = (errorId: string, message: string, target: unknown) =>
    new PSRemotingError(message, { errorId, category: 'InvalidArgument', targetObject: target });
  if ('id' in selector) {
    const row = table.byId(selector.id);
    if (isSession(row)) return row;
    throw notAvailable(
      'RemoteRunspaceNotAvailableForSpecifiedSessionId',
      `The remote session with the session ID ${selector.id} is not available.`,
      selector.id,
    );
  }
  if ('name' in selector) {
    const rows = table.byName(selector.name).filter(isSession);
    if (rows.length > 1)
      throw notAvailable(
        'RemoteRunspaceHasMultipleMatchesForSpecifiedName',
        `Multiple matches found for name ${selector.name}.`,
        selector.name,
      );
    const row = rows[0];
    if (row) return row;
    // The resource string has two spaces after the name (RemotingErrorIdStrings.resx); kept as PowerShell prints it.
    throw notAvailable(
      'RemoteRunspaceNotAvailableForSpecifiedName',
      `The remote session with the name ${selector.name}  is not available.`,
      selector.name,
    );
  }
  const row = table.byInstanceId(selector.instanceId);
  if (isSession(row)) return row;
  throw notAvailable(
    'RemoteRunspaceNotAvailableForSpecifiedRunspaceId',
    `Remote session is not available for ${selector.instanceId}.`,
    selector.instanceId,
  );
}

function isSession(row: unknown): row is PSSession {
  return typeof row === 'object' && row !== null && 'acquireEnter' in row;
}

/**
 * Enter-PSSession's check before it pushes an existing runspace: it must be Opened (PushedRunspaceMustBeOpen,
 * with EnterPSSessionBrokenSession's text for the Session set, and the reason it broke when it did).
 */
export function assertEnterable(session: PSSession): void {
  if (session.state === 'Opened') return;
  const why = session.reason ? ` ${session.reason.message}` : '';
  throw new PSRemotingError(
    `Cannot enter session ${session.name} because it is not in the disconnected state or is not available for connection. Retrieve the remote session using Get-PSSession -ComputerName ${session.computerName} -InstanceId ${session.instanceId}. The session is ${session.state}.${why}`,
    {
      errorId: 'PushedRunspaceMustBeOpen',
      category: 'InvalidArgument',
      targetObject: session.name,
      ...(session.reason ? { cause: session.reason } : {}),
      recommendedAction: 'Remove it (psremote remove) and open a new one.',
    },
  );
}

/** An existing session entered: the shell to drive, and `exit()` that leaves the session open. */
export interface EnteredSession {
  readonly shell: InteractiveSession;
  /** Leaves the session (Exit-PSSession for a session New-PSSession made): it stays open, its state kept. */
  exit(): void;
}

/**
 * Enters an existing session, as Enter-PSSession -Session/-Id/-Name/-InstanceId does: finds it, checks it is
 * open and that nobody else is inside (EnterPSSessionSessionBusy), prepares it (InteractiveSession.enter). The
 * remote state (variables, location) is the session's: it is there again at the next enter.
 */
export async function enterPSSession(
  selector: SessionSelector,
  options: { table?: SessionTable; holder?: string } = {},
): Promise<EnteredSession> {
  const session = findSession(selector, options.table);
  assertEnterable(session);
  const release = session.acquireEnter(options.holder ?? 'this process');
  try {
    const shell = new InteractiveSession(session);
    await shell.enter();
    return { shell, exit: release };
  } catch (e) {
    release();
    throw e;
  }
}

/** Remove-PSSession: closes the session on the server and takes it out of the table. */
export async function removePSSession(
  selector: SessionSelector,
  options: { table?: SessionTable } = {},
): Promise<void> {
  const table = options.table ?? defaultSessionTable;
  const session = findSession(selector, table);
  try {
    await session.close();
  } finally {
    table.remove(session.id);
  }
}
