import type { ClientRunspacePoolOptions } from '@psremote/psrp';
import type { ResolvedSessionOptions } from '../parameters/session-option.ts';

/** The largest fragment blob MS-PSRP can declare (BlobLength is an int32): "unlimited" in engine terms. */
const UNLIMITED = 2 ** 31;

/**
 * The runspace pool's receive limits from the session options. The engine's `maxMessageSize` bounds one
 * reassembled message, which is what MaximumReceivedObjectSize bounds (PowerShell counts each object's fragment
 * bytes, PriorityCollection.cs ReceiveDataCollection.ProcessRawData); the per-command limit has no engine option
 * here, so only the object limit is applied.
 */
export function poolLimitOptions(
  options: ResolvedSessionOptions,
): Pick<ClientRunspacePoolOptions, 'maxMessageSize'> {
  const max = options.maximumReceivedObjectSize;
  // 0 or a negative limit refuses every object, as PowerShell's `size < 0 || size > max` does.
  return { maxMessageSize: max === null ? UNLIMITED : Math.max(0, max) };
}
