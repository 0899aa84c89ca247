import type { SessionState } from './session-table.ts';

/** What moves a session: the pool opened, the connection ended cleanly, or the session broke. */
export type SessionAction = 'opened' | 'closed' | 'broken';

/**
 * The only place a session's state changes. An action the table does not list changes nothing: Closed and Broken
 * are final (a late event of a dying connection never revives or re-breaks a session).
 */
const SESSION_TRANSITIONS: Readonly<Record<SessionState, Partial<Record<SessionAction, SessionState>>>> = {
  Opening: { opened: 'Opened', closed: 'Closed', broken: 'Broken' },
  Opened: { closed: 'Closed', broken: 'Broken' },
  Closed: {},
  Broken: {},
};

/** The state after `action`, or undefined when the action changes nothing in `current`. */
export function sessionTransition(current: SessionState, action: SessionAction): SessionState | undefined {
  return SESSION_TRANSITIONS[current][action];
}

/** Closed or Broken: nothing changes a session any more. */
export function isSessionEnded(state: SessionState): boolean {
  return state === 'Closed' || state === 'Broken';
}
