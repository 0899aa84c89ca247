import {
  type ErrorCategory,
  type InvocationEvent,
  isPSRemotingError,
  PSRemotingError,
  type SessionSelector,
} from '@psremote/core';
import {
  decodeErrorRecord,
  decodeInformationRecord,
  deserializeClixml,
  type ErrorRecordInfo,
  serializeClixml,
} from '@psremote/psrp';

/** A PSRemotingError as it crosses the socket (never a stack). */
export interface WireError {
  readonly errorId: string;
  readonly message: string;
  readonly category: string;
  readonly targetObject?: string;
  readonly recommendedAction?: string;
  readonly commandName?: string;
}

export function errorToWire(e: unknown): WireError {
  if (isPSRemotingError(e)) {
    return {
      errorId: e.errorId,
      message: e.message,
      category: e.category,
      ...(e.targetObject !== undefined ? { targetObject: String(e.targetObject) } : {}),
      ...(e.recommendedAction !== undefined ? { recommendedAction: e.recommendedAction } : {}),
      commandName: e.commandName,
    };
  }
  return {
    errorId: 'AgentProtocolError',
    message: `The psremote agent failed: ${(e as Error)?.message ?? String(e)}`,
    category: 'ProtocolError',
  };
}

export function errorFromWire(w: WireError): PSRemotingError {
  return new PSRemotingError(String(w.message), {
    errorId: String(w.errorId),
    category: w.category as ErrorCategory,
    ...(w.targetObject !== undefined ? { targetObject: w.targetObject } : {}),
    ...(w.recommendedAction !== undefined ? { recommendedAction: w.recommendedAction } : {}),
    ...(w.commandName !== undefined ? { commandName: w.commandName } : {}),
  });
}

/**
 * An invocation event on the wire: records and values travel as CLIXML (their PowerShell form, read back with
 * the engine's own decoders on the other side), the rest as JSON.
 */
export type WireEvent =
  | { readonly kind: 'output'; readonly clixml: string }
  | { readonly kind: 'error' | 'information'; readonly clixml: string }
  | { readonly kind: 'warning' | 'verbose' | 'debug'; readonly message: string }
  | { readonly kind: 'progress'; readonly record: unknown };

export function eventToWire(ev: InvocationEvent): WireEvent {
  switch (ev.kind) {
    case 'output':
      return { kind: 'output', clixml: serializeClixml(ev.value) };
    case 'error':
    case 'information':
      return { kind: ev.kind, clixml: serializeClixml(ev.record.raw) };
    case 'progress':
      return { kind: 'progress', record: ev.record };
    default:
      return { kind: ev.kind, message: ev.message };
  }
}

export function eventFromWire(w: WireEvent): InvocationEvent {
  switch (w.kind) {
    case 'output':
      return { kind: 'output', value: deserializeClixml(w.clixml) };
    case 'error':
      return { kind: 'error', record: decodeErrorRecord(deserializeClixml(w.clixml)) };
    case 'information':
      return { kind: 'information', record: decodeInformationRecord(deserializeClixml(w.clixml)) };
    case 'progress':
      return {
        kind: 'progress',
        record: w.record as Extract<InvocationEvent, { kind: 'progress' }>['record'],
      };
    default:
      return { kind: w.kind, message: String(w.message) };
  }
}

export function recordToWire(r: ErrorRecordInfo | undefined): string | undefined {
  return r ? serializeClixml(r.raw) : undefined;
}

export function recordFromWire(x: unknown): ErrorRecordInfo | undefined {
  return typeof x === 'string' ? decodeErrorRecord(deserializeClixml(x)) : undefined;
}

/** A selector from the wire, checked (a client is not trusted to send the right shape). */
export function selectorFromWire(x: unknown): SessionSelector | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const o = x as Record<string, unknown>;
  if (typeof o.id === 'number' && Number.isInteger(o.id)) return { id: o.id };
  if (typeof o.name === 'string') return { name: o.name };
  if (typeof o.instanceId === 'string') return { instanceId: o.instanceId };
  return undefined;
}
