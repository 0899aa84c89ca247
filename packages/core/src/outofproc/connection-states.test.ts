import { describe, expect, it } from 'vitest';
import {
  connectionTransition,
  isConnectionFinished,
  isGoingDown,
  type OutOfProcConnectionAction,
  type OutOfProcConnectionState,
} from './connection-states.ts';

const STATES: OutOfProcConnectionState[] = [
  'Open',
  'Ending',
  'Closing',
  'EndingClosing',
  'Closed',
  'ServerClosed',
  'Failed',
];
const ACTIONS: OutOfProcConnectionAction[] = ['inputEnded', 'close', 'finish', 'fail', 'error'];

describe('the OutOfProc connection transition table', () => {
  it('an unasked end waits for the last words (Ending): a stray write error changes nothing, the end reports', () => {
    expect(connectionTransition('Open', 'inputEnded')).toBe('Ending');
    expect(connectionTransition('Ending', 'error')).toBeUndefined();
    expect(connectionTransition('Ending', 'fail')).toBe('Failed');
    expect(connectionTransition('Ending', 'inputEnded')).toBeUndefined();
  });

  it('close() during Ending lets errors report again; an end after close() is the clean end', () => {
    expect(connectionTransition('Ending', 'close')).toBe('EndingClosing');
    expect(connectionTransition('EndingClosing', 'error')).toBe('Failed');
    expect(connectionTransition('Open', 'close')).toBe('Closing');
    expect(connectionTransition('Closing', 'inputEnded')).toBe('Closed');
    expect(connectionTransition('Closing', 'close')).toBeUndefined();
  });

  it("the pool's CloseAck: Closed after our close(), ServerClosed when we never asked", () => {
    expect(connectionTransition('Closing', 'finish')).toBe('Closed');
    expect(connectionTransition('EndingClosing', 'finish')).toBe('Closed');
    expect(connectionTransition('Open', 'finish')).toBe('ServerClosed');
    expect(connectionTransition('Ending', 'finish')).toBe('ServerClosed');
  });

  it('the final states take no action; a pipeline Close is skipped once close() was called or it failed', () => {
    for (const s of STATES.filter(isConnectionFinished))
      for (const a of ACTIONS) expect(connectionTransition(s, a)).toBeUndefined();
    expect(STATES.filter(isConnectionFinished)).toEqual(['Closed', 'ServerClosed', 'Failed']);
    expect(STATES.filter(isGoingDown)).toEqual(['Closing', 'EndingClosing', 'Closed', 'Failed']);
  });
});
