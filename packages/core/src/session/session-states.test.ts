import { describe, expect, it } from 'vitest';
import { type SessionAction, sessionTransition } from './session-states.ts';
import type { SessionState } from './session-table.ts';

const STATES: SessionState[] = ['Opening', 'Opened', 'Closed', 'Broken'];
const ACTIONS: SessionAction[] = ['opened', 'closed', 'broken'];

describe('the session transition table', () => {
  it('Opening opens, closes or breaks; Opened closes or breaks; opened again changes nothing', () => {
    expect(ACTIONS.map((a) => sessionTransition('Opening', a))).toEqual(['Opened', 'Closed', 'Broken']);
    expect(ACTIONS.map((a) => sessionTransition('Opened', a))).toEqual([undefined, 'Closed', 'Broken']);
  });

  it('Closed and Broken are final: no action changes them', () => {
    for (const s of ['Closed', 'Broken'] as const)
      for (const a of ACTIONS) expect(sessionTransition(s, a)).toBeUndefined();
  });

  it('no action leads back to Opening', () => {
    for (const s of STATES) for (const a of ACTIONS) expect(sessionTransition(s, a)).not.toBe('Opening');
  });
});
