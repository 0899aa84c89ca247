/**
 * The states of an OutOfProc connection. Closed, ServerClosed and Failed are final: the stream is disposed, the
 * receive iteration ended (Failed: with the failure), every waiter for an acknowledgement told.
 */
export type OutOfProcConnectionState =
  /** Exchanging packets. */
  | 'Open'
  /** The server's output ended unasked: waiting (a moment) for its last words on the error stream. */
  | 'Ending'
  /** close() sent the pool's Close and waits for its CloseAck. */
  | 'Closing'
  /** close() was called while an unasked end waits for the server's last words. */
  | 'EndingClosing'
  /** Closed by us (close()). */
  | 'Closed'
  /** The server acknowledged a Close of the pool we never sent, or the stream ended that way. */
  | 'ServerClosed'
  /** Failed: an error, an abrupt end, an abort. */
  | 'Failed';

export type OutOfProcConnectionAction =
  /** The server's output stream ended. */
  | 'inputEnded'
  /** close() starts the goodbye (pool Close, then CloseAck). */
  | 'close'
  /** The end of the goodbye: the pool's CloseAck, or close() done waiting for it. */
  | 'finish'
  /** A failure that reports at once: the explained abrupt end, abort(). */
  | 'fail'
  /**
   * A failure seen on the way (a read or write error, a protocol error, the connecting timeout, a cancel): while an
   * unasked end waits for the server's last words it changes nothing (the dying stream's EPIPE must not report
   * first, without them); once close() was called it reports.
   */
  | 'error';

/** The only place an OutOfProc connection's state changes. An action the table does not list changes nothing. */
const CONNECTION_TRANSITIONS: Readonly<
  Record<OutOfProcConnectionState, Partial<Record<OutOfProcConnectionAction, OutOfProcConnectionState>>>
> = {
  Open: { inputEnded: 'Ending', close: 'Closing', finish: 'ServerClosed', fail: 'Failed', error: 'Failed' },
  Ending: { close: 'EndingClosing', finish: 'ServerClosed', fail: 'Failed' },
  Closing: { inputEnded: 'Closed', finish: 'Closed', fail: 'Failed', error: 'Failed' },
  EndingClosing: { finish: 'Closed', fail: 'Failed', error: 'Failed' },
  Closed: {},
  ServerClosed: {},
  Failed: {},
};

/** The state after `action`, or undefined when the action changes nothing in `current`. */
export function connectionTransition(
  current: OutOfProcConnectionState,
  action: OutOfProcConnectionAction,
): OutOfProcConnectionState | undefined {
  return CONNECTION_TRANSITIONS[current][action];
}

/** Nothing more is sent, received or acknowledged. */
export function isConnectionFinished(state: OutOfProcConnectionState): boolean {
  return state === 'Closed' || state === 'ServerClosed' || state === 'Failed';
}

/** close() was called, or the connection failed: a pipeline's Close is not worth sending. */
export function isGoingDown(state: OutOfProcConnectionState): boolean {
  return state === 'Closing' || state === 'EndingClosing' || state === 'Closed' || state === 'Failed';
}
