import { describe, expect, it } from 'vitest';
import { InvalidStateError } from '../errors.ts';
import {
  canPipelineTransition,
  INVOCATION_STATES,
  isFinished,
  type PipelineAction,
  type PSInvocationState,
  pipelineTransition,
} from '../pipeline/transitions.ts';
import {
  canPoolTransition,
  type PoolAction,
  poolTransition,
  RUNSPACE_POOL_STATES,
  type RunspacePoolState,
} from './transitions.ts';

// The specification the tables must meet (MS-PSRP 3.1.5.4 / 3.2.5.4 and the OutOfProc close sequence).
const POOL: Array<[RunspacePoolState, PoolAction, RunspacePoolState]> = [
  ['BeforeOpen', 'open', 'NegotiationSent'],
  ['BeforeOpen', 'close', 'Closed'],
  ['BeforeOpen', 'transportClosed', 'Closed'],
  ['BeforeOpen', 'fail', 'Broken'],
  ['NegotiationSent', 'negotiated', 'NegotiationSucceeded'],
  ['NegotiationSent', 'serverBroken', 'Broken'],
  ['NegotiationSent', 'serverClosed', 'Closed'],
  ['NegotiationSent', 'close', 'Closing'],
  ['NegotiationSent', 'transportClosed', 'Closed'],
  ['NegotiationSent', 'fail', 'Broken'],
  ['NegotiationSucceeded', 'serverOpened', 'Opened'],
  ['NegotiationSucceeded', 'serverBroken', 'Broken'],
  ['NegotiationSucceeded', 'serverClosed', 'Closed'],
  ['NegotiationSucceeded', 'close', 'Closing'],
  ['NegotiationSucceeded', 'transportClosed', 'Closed'],
  ['NegotiationSucceeded', 'fail', 'Broken'],
  ['Opening', 'serverOpened', 'Opened'],
  ['Opening', 'serverBroken', 'Broken'],
  ['Opening', 'close', 'Closing'],
  ['Opening', 'transportClosed', 'Closed'],
  ['Opening', 'fail', 'Broken'],
  ['Opened', 'close', 'Closing'],
  ['Opened', 'serverClosed', 'Closed'],
  ['Opened', 'serverBroken', 'Broken'],
  ['Opened', 'transportClosed', 'Closed'],
  ['Opened', 'fail', 'Broken'],
  ['Closing', 'serverClosed', 'Closed'],
  ['Closing', 'transportClosed', 'Closed'],
  ['Closing', 'close', 'Closing'],
  ['Closing', 'fail', 'Closed'],
  ['Closing', 'serverBroken', 'Closed'],
  ['Closed', 'close', 'Closed'],
  ['Closed', 'transportClosed', 'Closed'],
  ['Closed', 'fail', 'Closed'],
  ['Broken', 'close', 'Broken'],
  ['Broken', 'transportClosed', 'Broken'],
  ['Broken', 'fail', 'Broken'],
  ['Broken', 'serverBroken', 'Broken'],
  ['Broken', 'serverClosed', 'Broken'],
  ['Connecting', 'fail', 'Broken'],
  ['Connecting', 'transportClosed', 'Closed'],
  ['Disconnected', 'fail', 'Broken'],
  ['Disconnected', 'transportClosed', 'Closed'],
];
const POOL_ACTIONS: PoolAction[] = [
  'open',
  'negotiated',
  'serverOpened',
  'serverClosed',
  'serverBroken',
  'close',
  'transportClosed',
  'fail',
];

const PIPE: Array<[PSInvocationState, PipelineAction, PSInvocationState]> = [
  ['NotStarted', 'invoke', 'Running'],
  ['NotStarted', 'fail', 'Failed'],
  ['Running', 'stop', 'Stopping'],
  ['Running', 'serverRunning', 'Running'],
  ['Running', 'serverCompleted', 'Completed'],
  ['Running', 'serverStopped', 'Stopped'],
  ['Running', 'serverFailed', 'Failed'],
  ['Running', 'fail', 'Failed'],
  ['Stopping', 'stop', 'Stopping'],
  ['Stopping', 'serverRunning', 'Stopping'],
  ['Stopping', 'serverCompleted', 'Completed'],
  ['Stopping', 'serverStopped', 'Stopped'],
  ['Stopping', 'serverFailed', 'Stopped'],
  ['Stopping', 'fail', 'Failed'],
  ['Disconnected', 'fail', 'Failed'],
];
const PIPE_ACTIONS: PipelineAction[] = [
  'invoke',
  'stop',
  'serverCompleted',
  'serverStopped',
  'serverFailed',
  'serverRunning',
  'fail',
];

describe('runspace pool transitions', () => {
  it.each(POOL)('%s --%s--> %s', (from, action, to) => {
    expect(canPoolTransition(from, action)).toBe(true);
    expect(poolTransition(from, action)).toBe(to);
  });

  const rejected = RUNSPACE_POOL_STATES.flatMap((s) =>
    POOL_ACTIONS.filter((a) => !POOL.some(([f, x]) => f === s && x === a)).map((a) => [s, a] as const),
  );
  it(`rejects the other ${rejected.length} (state, action) pairs with an error naming action, state and the allowed states`, () => {
    expect(rejected.length).toBe(RUNSPACE_POOL_STATES.length * POOL_ACTIONS.length - POOL.length);
    for (const [s, a] of rejected) {
      expect(canPoolTransition(s, a)).toBe(false);
      let err: unknown;
      try {
        poolTransition(s, a);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidStateError);
      const ise = err as InvalidStateError;
      expect(ise.remote).toBe(false);
      expect(ise.errorId).toBe('InvalidRunspacePoolState');
      expect(ise.action).toBe(a);
      expect(ise.current).toBe(s);
      expect(ise.message).toContain(`Cannot ${a}: the RunspacePool is ${s}`);
      for (const [f] of POOL.filter(([, x]) => x === a)) expect(ise.message).toContain(f);
    }
  });

  it('the wire order of RunspacePoolState is MS-PSRP 2.2.3.4', () => {
    expect(RUNSPACE_POOL_STATES.indexOf('Opened')).toBe(2);
    expect(RUNSPACE_POOL_STATES.indexOf('Broken')).toBe(5);
    expect(RUNSPACE_POOL_STATES.indexOf('Disconnected')).toBe(9);
  });
});

describe('pipeline transitions', () => {
  it.each(PIPE)('%s --%s--> %s', (from, action, to) => {
    expect(canPipelineTransition(from, action)).toBe(true);
    expect(pipelineTransition(from, action)).toBe(to);
  });

  const rejected = INVOCATION_STATES.flatMap((s) =>
    PIPE_ACTIONS.filter((a) => !PIPE.some(([f, x]) => f === s && x === a)).map((a) => [s, a] as const),
  );
  it(`rejects the other ${rejected.length} (state, action) pairs`, () => {
    for (const [s, a] of rejected) {
      expect(canPipelineTransition(s, a)).toBe(false);
      expect(() => pipelineTransition(s, a)).toThrowError(new RegExp(`^Cannot ${a}: the Pipeline is ${s}`));
    }
  });

  it('finished states are exactly Stopped, Completed and Failed, and accept nothing', () => {
    expect(INVOCATION_STATES.filter(isFinished)).toEqual(['Stopped', 'Completed', 'Failed']);
    for (const s of INVOCATION_STATES.filter(isFinished))
      for (const a of PIPE_ACTIONS) expect(canPipelineTransition(s, a)).toBe(false);
  });

  it('the wire order of PSInvocationState is MS-PSRP 2.2.3.5', () => {
    expect(INVOCATION_STATES).toEqual([
      'NotStarted',
      'Running',
      'Stopping',
      'Stopped',
      'Completed',
      'Failed',
      'Disconnected',
    ]);
  });
});
