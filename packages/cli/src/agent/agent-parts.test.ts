import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostUiNotSupported, isPSRemotingError, RecordingHostUi } from '@psremote/core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type Message, readFrames, writeFrame } from './frames.ts';
import { agentPaths, ensureAgentDirectory } from './paths.ts';
import { answerHostCall, type HostChannel, RelayHostUi } from './relay-host-ui.ts';
import { formatSessionTable } from './table-view.ts';
import { extractNewName, parseFilters } from './verbs.ts';

const scratch = mkdtempSync(join(tmpdir(), 'psremote-agent-parts-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A socket pair over a Unix socket in the scratch directory. */
async function pair(): Promise<{ a: Socket; b: Socket; close: () => void }> {
  const path = join(scratch, `s${Math.random().toString(16).slice(2)}.sock`);
  const server = createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const a = connect(path);
  const b = await accepted;
  return {
    a,
    b,
    close: () => {
      a.destroy();
      b.destroy();
      server.close();
    },
  };
}

describe('frames', () => {
  it('carries messages split and joined across chunks, in order', async () => {
    const { a, b, close } = await pair();
    const got: Message[] = [];
    readFrames(
      b,
      1024,
      (m) => got.push(m),
      () => {},
    );
    const big = 'x'.repeat(600);
    writeFrame(a, { t: 'one', n: 1n as unknown as number });
    writeFrame(a, { t: 'two', big });
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([
      { t: 'one', n: '1' },
      { t: 'two', big },
    ]);
    close();
  });

  it('a frame over the limit, or not a message, is an error and nothing more is read', async () => {
    for (const bytes of [
      Buffer.from([0x7f, 0xff, 0xff, 0xff]),
      Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('nope!')]),
      Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from('42')]),
    ]) {
      const { a, b, close } = await pair();
      const errors: string[] = [];
      const got: Message[] = [];
      readFrames(
        b,
        1024,
        (m) => got.push(m),
        (why) => errors.push(why),
      );
      a.write(bytes);
      writeFrame(a, { t: 'after' });
      await new Promise((r) => setTimeout(r, 50));
      expect(errors).toHaveLength(1);
      expect(got).toEqual([]);
      close();
    }
  });
});

const realConcat = Buffer.concat;

describe('frames, fed by hand', () => {
  const frame = (m: Message): Buffer => {
    const body = Buffer.from(JSON.stringify(m));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length, 0);
    return Buffer.concat([head, body]);
  };
  const reader = (max: number) => {
    const got: Message[] = [];
    const errors: string[] = [];
    const socket = { on() {} } as unknown as Socket;
    const read = readFrames(
      socket,
      max,
      (m) => got.push(m),
      (why) => errors.push(why),
    );
    return { got, errors, read };
  };

  it('takes frames cut at every byte (the length too) and many frames in one chunk', () => {
    const bytes = Buffer.concat([frame({ t: 'a', s: 'é€😀' }), frame({ t: 'b' }), frame({ t: 'c', n: 3 })]);
    const one = reader(1024);
    for (const b of bytes) one.read(Buffer.from([b]));
    expect(one.got).toEqual([{ t: 'a', s: 'é€😀' }, { t: 'b' }, { t: 'c', n: 3 }]);
    const whole = reader(1024);
    whole.read(bytes);
    expect(whole.got).toEqual(one.got);
    expect(whole.errors).toEqual([]);
  });

  it('a 16 MB frame in 16 KB chunks is joined once, not at every chunk (linear, not quadratic)', () => {
    const big = frame({ t: 'big', s: 'x'.repeat(16 * 1024 * 1024 - 64) });
    const r = reader(16 * 1024 * 1024);
    let copied = 0;
    const concat = vi.spyOn(Buffer, 'concat');
    concat.mockImplementation((...args) => {
      const joined = realConcat(...args);
      copied += joined.length;
      return joined;
    });
    try {
      for (let i = 0; i < big.length; i += 16384) r.read(big.subarray(i, i + 16384));
    } finally {
      concat.mockRestore();
    }
    expect(r.got).toHaveLength(1);
    expect(String(r.got[0]?.s).length).toBe(16 * 1024 * 1024 - 64);
    // Joining at every chunk copied about 8 GB here; once, the frame's own 16 MB.
    expect(copied).toBeLessThanOrEqual(big.length);
  });

  it('after an error nothing more is read, even from the same chunk', () => {
    const r = reader(1024);
    r.read(
      Buffer.concat([
        frame({ t: 'ok' }),
        Buffer.from([0, 0, 0, 2]),
        Buffer.from('42'),
        frame({ t: 'after' }),
      ]),
    );
    expect(r.got).toEqual([{ t: 'ok' }]);
    expect(r.errors).toEqual(['a frame is not a message']);
    r.read(frame({ t: 'later' }));
    expect(r.got).toEqual([{ t: 'ok' }]);
  });
});

describe('the PSSession table view', () => {
  it('prints the fixed-width columns of pwsh, Id and Availability right-aligned, long values cut with an ellipsis', () => {
    const text = formatSessionTable([
      {
        id: 1,
        name: 'web',
        instanceId: 'g',
        computerName: 'a-very-long-computer-name.example',
        transport: 'ssh',
        state: 'Opened',
        availability: 'Available',
      },
      {
        id: 12,
        name: 'Runspace12',
        instanceId: 'h',
        computerName: 'localhost',
        transport: 'process',
        state: 'Broken',
        availability: 'None',
      },
    ]);
    expect(text.split('\n')).toEqual([
      '',
      ' Id Name            Transport ComputerName    ComputerType    State         ConfigurationName     Availability',
      ' -- ----            --------- ------------    ------------    -----         -----------------     ------------',
      '  1 web             SSH       a-very-long-co\u2026 RemoteMachine   Opened        DefaultShell             Available',
      ' 12 Runspace12      Process   localhost       RemoteMachine   Broken                                      None',
      '',
      '',
    ]);
    expect(formatSessionTable([])).toBe('');
  });
});

describe("the verbs' own arguments", () => {
  it('new takes -Name out (whole name only) and leaves the target parameters', () => {
    expect(extractNewName(['-HostName', 'h', '-Name', 'web'])).toEqual({
      name: 'web',
      rest: ['-HostName', 'h'],
    });
    expect(extractNewName(['-name:db', '-N', 'x'])).toEqual({ name: 'db', rest: ['-N', 'x'] });
    expect(extractNewName(['-Name'])).toMatchObject({ error: { errorId: 'MissingArgument' } });
  });

  it('get and remove filters: comma lists, prefixes, wrong names and values', () => {
    expect(parseFilters(['-Id', '1,2', '-Na', 'w*', '-InstanceId:ABC'], 'Get-PSSession')).toEqual({
      selectors: [{ id: 1 }, { id: 2 }, { name: 'w*' }, { instanceId: 'abc' }],
    });
    expect(parseFilters(['-Bogus', '1'], 'Get-PSSession').error?.errorId).toBe('NamedParameterNotFound');
    expect(parseFilters(['-Id', 'one'], 'Remove-PSSession').error?.errorId).toBe(
      'CannotConvertArgumentNoMessage',
    );
    expect(parseFilters(['-I', '1'], 'Get-PSSession').error?.errorId).toBe('NamedParameterNotFound');
  });
});

describe('the agent directory', () => {
  it('is $XDG_RUNTIME_DIR/psremote, else a per-uid directory under tmpdir; PSREMOTE_AGENT_DIR wins', () => {
    expect(agentPaths({ XDG_RUNTIME_DIR: '/run/user/7' }, 'linux').socket).toBe(
      '/run/user/7/psremote/agent.sock',
    );
    expect(agentPaths({}, 'linux').dir).toBe(join(tmpdir(), `psremote-${process.getuid?.() ?? 0}`));
    expect(agentPaths({ PSREMOTE_AGENT_DIR: '/x' }, 'linux').token).toBe('/x/agent.token');
    expect(agentPaths({ LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local' }, 'win32').socket).toMatch(
      /^\\\\\.\\pipe\\psremote-agent-/,
    );
  });

  it.skipIf(process.platform === 'win32')('refuses a directory others can reach', () => {
    const dir = join(scratch, 'open');
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o755);
    let err: unknown;
    try {
      ensureAgentDirectory(agentPaths({ PSREMOTE_AGENT_DIR: dir }));
    } catch (e) {
      err = e;
    }
    expect(isPSRemotingError(err) && err.errorId).toBe('AgentAccessDenied');
    chmodSync(dir, 0o700);
    expect(() => ensureAgentDirectory(agentPaths({ PSREMOTE_AGENT_DIR: dir }))).not.toThrow();
  });
});

describe('the relayed host', () => {
  it('forwards to the attached client, and without one drops writes and refuses prompts', async () => {
    const relay = new RelayHostUi();
    const sent: [string, readonly unknown[]][] = [];
    const channel: HostChannel = {
      interactive: true,
      call: async (method, args) => {
        sent.push([method, args]);
        return method === 'readLine' ? 'typed' : null;
      },
      notify: (method, args) => {
        sent.push([method, args]);
      },
    };
    expect(relay.interactive).toBe(false);
    relay.writeLine('lost');
    await expect(relay.readLine()).rejects.toBeInstanceOf(HostUiNotSupported);
    expect(relay.rawUi).toBeUndefined();
    relay.attach(channel, {
      foregroundColor: 7,
      backgroundColor: 0,
      cursorPosition: { x: 0, y: 0 },
      windowPosition: { x: 0, y: 0 },
      cursorSize: 25,
      bufferSize: { width: 100, height: 30 },
      windowSize: { width: 100, height: 30 },
      maxWindowSize: { width: 100, height: 30 },
      maxPhysicalWindowSize: { width: 100, height: 30 },
      windowTitle: 't',
    });
    expect(relay.interactive).toBe(true);
    relay.writeLine('shown');
    relay.writeProgress(5n, { activity: 'a' } as never);
    expect(await relay.readLine()).toBe('typed');
    expect(relay.rawUi?.windowSize).toEqual({ width: 100, height: 30 });
    if (relay.rawUi) relay.rawUi.windowTitle = 'new';
    expect(sent).toEqual([
      ['writeLine', ['shown', null, null]],
      ['writeProgress', ['5', { activity: 'a' }]],
      ['readLine', []],
      ['rawSet', ['windowTitle', 'new']],
    ]);
    relay.detach({ ...channel });
    expect(relay.interactive).toBe(true); // another client's detach leaves this one
    relay.detach(channel);
    expect(relay.interactive).toBe(false);
  });

  it("the client's side runs only HostUi members", async () => {
    const ui = new RecordingHostUi({ answers: ['answer'] });
    await answerHostCall(ui, 'writeLine', ['hi', null, null]);
    expect(await answerHostCall(ui, 'readLine', [])).toBe('answer');
    await expect(answerHostCall(ui, 'constructor', [])).rejects.toBeInstanceOf(HostUiNotSupported);
    expect(ui.text).toBe('hi\n');
  });
});
