import type { testing } from '@psremote/psrp';
import { describe, expect, it } from 'vitest';
import { isPSRemotingError, type PSRemotingError } from '../errors/ps-remoting-error.ts';
import { RecordingHostUi } from '../host/recording-host-ui.ts';
import { createMemoryTransport } from '../testing/memory-transport.ts';
import { openSession } from './open-session.ts';
import { enterPSSession, findSession, removePSSession } from './session-select.ts';
import { SessionTable } from './session-table.ts';

/**
 * A fake server whose GET_COMMAND_METADATA answers as pwsh does for Out-Default and Exit-PSSession (Count, then
 * one object each) and whose other pipelines output what `$x` holds, set by a line `$x = <n>`: the remote state a
 * re-entered session keeps.
 */
function statefulTransport() {
  let x = 0;
  return createMemoryTransport({
    serverOptions: {
      onPipeline: (p: testing.FakePipeline) => {
        if (p.commandMetadata) {
          p.output(2).output('Out-Default').output('Exit-PSSession').finish();
          return;
        }
        const text = p.spec.commands[0]?.command ?? '';
        const set = /^\$x = (\d+)$/.exec(text);
        if (set) x = Number(set[1]);
        else p.output(x);
        p.finish();
      },
    },
  });
}

const failure = async (f: () => unknown): Promise<PSRemotingError> => {
  try {
    await f();
  } catch (e) {
    if (isPSRemotingError(e)) return e;
    throw e;
  }
  throw new Error('no error');
};

describe('the session table as a library: find, enter again, busy, broken, remove', () => {
  it('finds by id, name (case-insensitive) and instance id, with PowerShell errors when none or several match', async () => {
    const table = new SessionTable();
    const transport = statefulTransport();
    const a = await openSession({ transport, hostUi: new RecordingHostUi(), table, name: 'web' });
    const b = await openSession({ transport, hostUi: new RecordingHostUi(), table });
    expect([a.id, b.id, b.name]).toEqual([1, 2, 'Runspace2']);
    expect(findSession({ id: 2 }, table)).toBe(b);
    expect(findSession({ name: 'WEB' }, table)).toBe(a);
    expect(findSession({ instanceId: a.instanceId.toUpperCase() }, table)).toBe(a);
    expect(findSession({ session: b }, table)).toBe(b);
    expect((await failure(() => findSession({ id: 9 }, table))).errorId).toBe(
      'RemoteRunspaceNotAvailableForSpecifiedSessionId',
    );
    expect((await failure(() => findSession({ name: 'db' }, table))).message).toBe(
      'The remote session with the name db  is not available.',
    );
    expect((await failure(() => findSession({ instanceId: 'nope' }, table))).errorId).toBe(
      'RemoteRunspaceNotAvailableForSpecifiedRunspaceId',
    );
    await openSession({ transport, hostUi: new RecordingHostUi(), table, name: 'web' });
    expect((await failure(() => findSession({ name: 'web' }, table))).errorId).toBe(
      'RemoteRunspaceHasMultipleMatchesForSpecifiedName',
    );
    for (const s of table.list()) await findSession({ id: s.id }, table).close();
  });

  it('enter, exit leaving it open, enter again with the state kept; a second enter meanwhile is busy', async () => {
    const table = new SessionTable();
    const session = await openSession({
      transport: statefulTransport(),
      hostUi: new RecordingHostUi(),
      table,
    });
    const first = await enterPSSession({ session }, { table, holder: 'terminal 1' });
    expect((await first.shell.run('$x = 42').finished).state).toBe('Completed');
    expect(session.info.availability).toBe('Busy');
    expect(session.enteredHolder).toBe('terminal 1');
    const busy = await failure(() => enterPSSession({ id: session.id }, { table }));
    expect(busy.errorId).toBe('EnterPSSessionSessionBusy');
    expect(busy.message).toBe(
      `The session Runspace1, ${session.instanceId}, ${session.computerName} is not available to run commands.  The session availability is Busy.`,
    );
    first.exit();
    first.exit(); // idempotent
    expect(session.state).toBe('Opened');
    expect(session.info.availability).toBe('Available');
    const again = await enterPSSession({ name: 'runspace1' }, { table });
    expect((await again.shell.session.invoke('$x').result()).output).toEqual([42]);
    again.exit();
    await removePSSession({ id: session.id }, { table });
    expect(session.state).toBe('Closed');
    expect(table.list()).toEqual([]);
  });

  it('a Broken session cannot be entered (PushedRunspaceMustBeOpen, with why) and removing it cleans the table', async () => {
    const table = new SessionTable();
    const transport = statefulTransport();
    const session = await openSession({ transport, hostUi: new RecordingHostUi(), table, name: 'brk' });
    transport.pairOf(session)?.end({ discardPending: true });
    await session.whenEnded;
    expect(session.info).toMatchObject({ state: 'Broken', availability: 'None' });
    const e = await failure(() => enterPSSession({ name: 'brk' }, { table }));
    expect(e.errorId).toBe('PushedRunspaceMustBeOpen');
    expect(e.message).toMatch(/^Cannot enter session brk because .* The session is Broken\. ./);
    await removePSSession({ name: 'brk' }, { table });
    expect(table.list()).toEqual([]);
  });
});
