import type { ClientRunspacePoolOptions } from '@psremote/psrp';
import type { ResolvedSessionOptions } from '../parameters/session-option.ts';

/**
 * The runspace pool's receive limits from the session options (null: no limit).
 *
 * MaximumReceivedObjectSize bounds every object, the pool's and each pipeline's. PowerShell's own OutOfProc client
 * applies its 10 MB only to the pool's messages (BaseTransportManager.MaximumReceivedObjectSize; its command
 * transport managers set none), and its WSMan client applies the PSSessionOption value to both. psremote applies the
 * one setting to both, so a server it does not control cannot make it hold more than the limit for any object; a
 * user who trusts the server raises it (`--session-option @{MaximumReceivedObjectSize=$null}`), and the error says so.
 * MaximumReceivedDataSizePerCommand fails only the command that went over it (the engine's
 * PipelineReceiveLimitExceeded event; the session then stops that pipeline on the server).
 */
export function poolLimitOptions(
  options: ResolvedSessionOptions,
): Pick<
  ClientRunspacePoolOptions,
  'maxReceivedObjectSize' | 'maxReceivedPipelineObjectSize' | 'maxReceivedDataSizePerCommand'
> {
  const object = options.maximumReceivedObjectSize;
  // 0 or a negative limit refuses every object, as PowerShell's `size < 0 || size > max` does.
  const max = object === null ? null : Math.max(0, object);
  return {
    maxReceivedObjectSize: max,
    maxReceivedPipelineObjectSize: max,
    maxReceivedDataSizePerCommand: options.maximumReceivedDataSizePerCommand,
  };
}
