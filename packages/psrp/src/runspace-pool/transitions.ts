import { InvalidStateError } from '../errors.ts';

/** RunspacePoolState (MS-PSRP 2.2.3.4). */
export type RunspacePoolState =
  | 'BeforeOpen'
  | 'Opening'
  | 'Opened'
  | 'Closed'
  | 'Closing'
  | 'Broken'
  | 'NegotiationSent'
  | 'NegotiationSucceeded'
  | 'Connecting'
  | 'Disconnected';

export const RUNSPACE_POOL_STATES: readonly RunspacePoolState[] = [
  'BeforeOpen',
  'Opening',
  'Opened',
  'Closed',
  'Closing',
  'Broken',
  'NegotiationSent',
  'NegotiationSucceeded',
  'Connecting',
  'Disconnected',
];

export type PoolAction =
  | 'open' // client sends SESSION_CAPABILITY + INIT_RUNSPACEPOOL
  | 'negotiated' // server SESSION_CAPABILITY
  | 'serverOpened' // RUNSPACEPOOL_STATE Opened
  | 'serverClosed' // RUNSPACEPOOL_STATE Closed
  | 'serverBroken' // RUNSPACEPOOL_STATE Broken
  | 'close' // client closes
  | 'transportClosed'
  | 'fail'; // transport failure or bad peer input

/** The only place the pool's state changes. */
const T: Readonly<Record<RunspacePoolState, Partial<Record<PoolAction, RunspacePoolState>>>> = {
  BeforeOpen: { open: 'NegotiationSent', close: 'Closed', transportClosed: 'Closed', fail: 'Broken' },
  NegotiationSent: {
    negotiated: 'NegotiationSucceeded',
    serverBroken: 'Broken',
    serverClosed: 'Closed',
    close: 'Closing',
    transportClosed: 'Closed',
    fail: 'Broken',
  },
  NegotiationSucceeded: {
    serverOpened: 'Opened',
    serverBroken: 'Broken',
    serverClosed: 'Closed',
    close: 'Closing',
    transportClosed: 'Closed',
    fail: 'Broken',
  },
  Opening: {
    serverOpened: 'Opened',
    serverBroken: 'Broken',
    close: 'Closing',
    transportClosed: 'Closed',
    fail: 'Broken',
  },
  Opened: {
    close: 'Closing',
    serverClosed: 'Closed',
    serverBroken: 'Broken',
    transportClosed: 'Closed',
    fail: 'Broken',
  },
  Closing: {
    serverClosed: 'Closed',
    transportClosed: 'Closed',
    close: 'Closing',
    fail: 'Closed',
    serverBroken: 'Closed',
  },
  Closed: { close: 'Closed', transportClosed: 'Closed', fail: 'Closed' },
  Broken: {
    close: 'Broken',
    transportClosed: 'Broken',
    fail: 'Broken',
    serverBroken: 'Broken',
    serverClosed: 'Broken',
  },
  Connecting: { fail: 'Broken', transportClosed: 'Closed' },
  Disconnected: { fail: 'Broken', transportClosed: 'Closed' },
};

export function poolTransition(current: RunspacePoolState, action: PoolAction): RunspacePoolState {
  const next = T[current][action];
  if (next === undefined) {
    const allowed = RUNSPACE_POOL_STATES.filter((s) => T[s][action] !== undefined);
    throw new InvalidStateError('RunspacePool', action, current, allowed);
  }
  return next;
}

export function canPoolTransition(current: RunspacePoolState, action: PoolAction): boolean {
  return T[current][action] !== undefined;
}
