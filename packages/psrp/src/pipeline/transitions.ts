import { InvalidStateError } from '../errors.ts';

/** PSInvocationState (MS-PSRP 2.2.3.5). */
export type PSInvocationState =
  | 'NotStarted'
  | 'Running'
  | 'Stopping'
  | 'Stopped'
  | 'Completed'
  | 'Failed'
  | 'Disconnected';

export const INVOCATION_STATES: readonly PSInvocationState[] = [
  'NotStarted',
  'Running',
  'Stopping',
  'Stopped',
  'Completed',
  'Failed',
  'Disconnected',
];

export type PipelineAction =
  | 'invoke'
  | 'stop'
  | 'serverCompleted'
  | 'serverStopped'
  | 'serverFailed'
  | 'serverRunning'
  | 'fail';

/** The only place a pipeline's state changes. */
const T: Readonly<Record<PSInvocationState, Partial<Record<PipelineAction, PSInvocationState>>>> = {
  NotStarted: { invoke: 'Running', fail: 'Failed' },
  Running: {
    stop: 'Stopping',
    serverRunning: 'Running',
    serverCompleted: 'Completed',
    serverStopped: 'Stopped',
    serverFailed: 'Failed',
    fail: 'Failed',
  },
  Stopping: {
    stop: 'Stopping',
    serverRunning: 'Stopping',
    serverCompleted: 'Completed',
    serverStopped: 'Stopped',
    serverFailed: 'Stopped',
    fail: 'Failed',
  },
  Stopped: {},
  Completed: {},
  Failed: {},
  Disconnected: { fail: 'Failed' },
};

export function pipelineTransition(current: PSInvocationState, action: PipelineAction): PSInvocationState {
  const next = T[current][action];
  if (next === undefined) {
    const allowed = INVOCATION_STATES.filter((s) => T[s][action] !== undefined);
    throw new InvalidStateError('Pipeline', action, current, allowed);
  }
  return next;
}

export function canPipelineTransition(current: PSInvocationState, action: PipelineAction): boolean {
  return T[current][action] !== undefined;
}

export function isFinished(s: PSInvocationState): boolean {
  return s === 'Completed' || s === 'Stopped' || s === 'Failed';
}
