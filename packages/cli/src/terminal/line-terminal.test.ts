import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type InvocationEvent, PSRemotingError } from '@psremote/core';
import { decodeErrorRecord, type ErrorRecordInfo, errorRecordObject, PSObject } from '@psremote/psrp';
import { describe, expect, it } from 'vitest';
import { randomGraph } from '../../test/random-graph.ts';
import { HISTORY_SIZE, loadHistory, stateDirectory } from './history.ts';
import { createTerminal } from './line-terminal.ts';
import { failedLineText, formatErrorRecord, formatLocalError, MAX_LOCAL_ERROR_MESSAGE } from './render.ts';

describe('stateDirectory: where the history is kept', () => {
  it('XDG_STATE_HOME first, then ~/.local/state; %LOCALAPPDATA% on Windows', () => {
    expect(stateDirectory({ XDG_STATE_HOME: '/x', HOME: '/h' }, 'linux')).toBe(join('/x', 'psremote'));
    expect(stateDirectory({ HOME: '/h' }, 'darwin')).toBe(join('/h', '.local', 'state', 'psremote'));
    expect(stateDirectory({ LOCALAPPDATA: '/appdata', HOME: '/h' }, 'win32')).toBe(
      join('/appdata', 'psremote'),
    );
    expect(stateDirectory({ LOCALAPPDATA: '/appdata', HOME: '/h' }, 'linux')).toBe(
      join('/h', '.local', 'state', 'psremote'),
    );
  });
});

describe('loadHistory: the history file of a target', () => {
  it('newest first, at most HISTORY_SIZE; a file past twice that is cut back to its newest lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psremote-history-'));
    try {
      const file = join(dir, 'h.txt');
      expect(loadHistory(file)).toEqual([]);
      writeFileSync(file, 'a\nb\n\nc\n');
      expect(loadHistory(file)).toEqual(['c', 'b', 'a']);
      const many = Array.from({ length: 2 * HISTORY_SIZE + 5 }, (_, i) => `cmd ${i}`);
      writeFileSync(file, `${many.join('\n')}\n`);
      const h = loadHistory(file);
      expect(h).toHaveLength(HISTORY_SIZE);
      expect(h[0]).toBe(`cmd ${2 * HISTORY_SIZE + 4}`);
      const kept = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      expect(kept).toHaveLength(HISTORY_SIZE);
      expect(kept.at(-1)).toBe(`cmd ${2 * HISTORY_SIZE + 4}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('formatLocalError', () => {
  it('cuts a message that quotes megabytes of server data, says so, and keeps the error id in sight', () => {
    const e = new PSRemotingError(
      `the server sent data the client cannot read: <D>${'9'.repeat(200_000)}</D>`,
      {
        errorId: 'PsrpMalformedMessage',
        category: 'ProtocolError',
      },
    );
    const text = formatLocalError(e);
    expect(text.length).toBeLessThan(MAX_LOCAL_ERROR_MESSAGE + 400);
    expect(text).toMatch(/\.\.\. \(\d+ more characters\)/);
    expect(text).toMatch(/FullyQualifiedErrorId : PsrpMalformedMessage/);
    const short = new PSRemotingError('short', { errorId: 'X', category: 'ProtocolError' });
    expect(formatLocalError(short)).toMatch(/^Enter-PSSession: short\n/);
  });
});

describe('formatErrorRecord and text rendering of random server graphs (property)', () => {
  /** A terminal over streams that only collect (not a TTY: no colors). */
  function collectingTerminal(): { terminal: ReturnType<typeof createTerminal>; out: string[] } {
    const out: string[] = [];
    const stream = {
      isTTY: false,
      columns: 80,
      write(s: string) {
        out.push(s);
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    const io = {
      stdin: { isTTY: false } as NodeJS.ReadStream,
      stdout: stream,
      stderr: stream,
      env: { NO_COLOR: '1' },
    };
    return { terminal: createTerminal(io, { noColor: true }), out };
  }

  it('an ErrorRecord whose exception chain, details and target are random graphs with cycles formats finitely', () => {
    const { terminal, out } = collectingTerminal();
    try {
      for (let seed = 1; seed <= 150; seed++) {
        const rec = errorRecordObject({
          message: `failure ${seed}`,
          fullyQualifiedErrorId: `Hostile${seed}`,
          targetObject: randomGraph(seed, { nodes: 30, share: 0.3, cycle: 0.2, maxChildren: 3 }),
        });
        const ex = rec.get('Exception');
        if (ex instanceof PSObject) {
          // InnerException chains that end in a cycle back to the exception, and random details.
          const inner = new PSObject({ typeNames: ['System.Exception'], adapted: [['InnerException', ex]] });
          ex.adapted.set('InnerException', inner);
          ex.adapted.set(
            'Data',
            randomGraph(seed + 1000, { nodes: 20, share: 0.3, cycle: 0.3, maxChildren: 3 }),
          );
        }
        rec.extended.set(
          'ErrorDetails',
          randomGraph(seed + 2000, { nodes: 10, share: 0.3, cycle: 0.3, maxChildren: 2 }),
        );
        const text = terminal.formatErrorRecord(decodeErrorRecord(rec));
        expect(text).toContain(`failure ${seed}`);
        // Concise view: no activity nor invocation, NotSpecified: the category reason names it.
        expect(text).toBe(`RuntimeException: failure ${seed}`);
        // The record itself as output, in text mode: its ToString, finite.
        terminal.render({ kind: 'output', value: rec } as InvocationEvent);
        terminal.render({ kind: 'output', value: rec.get('TargetObject') ?? null } as InvocationEvent);
      }
      expect(out.length).toBeGreaterThan(0);
    } finally {
      terminal.close();
    }
  });
});

describe('formatErrorRecord: the concise view Invoke-Command shows', () => {
  const terminal = { formatErrorRecord: (r: ErrorRecordInfo) => formatErrorRecord(r, false) };
  it('Exception for a throw, else the activity (the command), the category, the reason; ErrorDetails first', () => {
    {
      const thrown = errorRecordObject({
        message: 'x',
        fullyQualifiedErrorId: 'x',
        category: 'OperationStopped',
      });
      const ex = thrown.get('Exception');
      if (ex instanceof PSObject) ex.adapted.set('WasThrownFromThrowStatement', true);
      expect(terminal.formatErrorRecord(decodeErrorRecord(thrown))).toBe('Exception: x');
      const cmdlet = errorRecordObject({
        message: 'Cannot find path',
        fullyQualifiedErrorId: 'PathNotFound',
        category: 'ObjectNotFound',
        activity: 'Get-Item',
        errorDetailsMessage: 'details',
      });
      expect(terminal.formatErrorRecord(decodeErrorRecord(cmdlet))).toBe('Get-Item: details');
      const category = errorRecordObject({
        message: 'm',
        fullyQualifiedErrorId: 'f',
        category: 'InvalidArgument',
      });
      expect(terminal.formatErrorRecord(decodeErrorRecord(category))).toBe('InvalidArgument: m');
    }
  });
});

describe('failedLineText: a typed line whose pipeline failed or stopped, as Enter-PSSession shows it', () => {
  it('Error: and the exception message (not ErrorDetails); Stopped is PipelineStoppedException; others nothing', () => {
    const rec = decodeErrorRecord(
      errorRecordObject({
        message: 'Cannot find path /nope',
        fullyQualifiedErrorId: 'PathNotFound',
        category: 'ObjectNotFound',
        activity: 'Get-Item',
        errorDetailsMessage: 'details win in the concise view of a live record, not here',
      }),
    );
    expect(failedLineText('Failed', rec)).toBe('Error: Cannot find path /nope');
    expect(failedLineText('Stopped', undefined)).toBe('Error: The pipeline has been stopped.');
    expect(failedLineText('Completed', undefined)).toBeUndefined();
    expect(failedLineText('Failed', undefined)).toBeUndefined();
  });
});
