import {
  commandRequest,
  createShellRequest,
  type EnvelopeContext,
  newMessageId,
  sendRequest,
} from './envelope.ts';
import { WsmanFault, WsmanHttpError } from './errors.ts';
import { NS } from './namespaces.ts';

/**
 * 150 KB: the MaxEnvelopeSizekb of Windows 7 / 2008 R2 era servers, which newer servers (500 KB) also accept;
 * pypsrp's default, and what PowerShell clamps to for protocol 2.1 servers (`research/protocols.md` 4.1).
 */
export const DEFAULT_MAX_ENVELOPE_SIZE = 153_600;
/** Below this the server answers EncodingLimit (MS-WSMV 3.1.4.1.7). */
export const MIN_MAX_ENVELOPE_SIZE = 8192;
/** Room left for what varies between the measured skeleton and a real request (ids the server chose, a name). */
export const ENVELOPE_SLACK = 256;
/** MS-PSRP 2.2.4: a fragment's header is 21 bytes; a budget below one header and a byte carries nothing. */
const FRAGMENT_HEADER = 21;

export type PayloadOperation = 'Create' | 'Command' | 'Send';

const GUID = '00000000-0000-0000-0000-000000000000';

/**
 * The most bytes of PSRP fragments one request of this kind can carry: MaxEnvelopeSize less the envelope around the
 * payload (measured on the real builder's output) and a slack, times 3/4 for base64 (pypsrp computes the same
 * `(max - (skeleton + 256)) / 4 * 3`, wsman.py:522-557). For Create the payload is creationXml, for Command the
 * Arguments (one fragment), for Send the Stream.
 */
export function payloadBudget(
  ctx: EnvelopeContext,
  op: PayloadOperation,
  opts: { readonly shellName?: string; readonly slack?: number } = {},
): number {
  const empty = new Uint8Array(0);
  const messageId = newMessageId();
  const skeleton =
    op === 'Create'
      ? createShellRequest(ctx, {
          runspacePoolId: GUID,
          name: opts.shellName ?? 'Runspace1',
          creationXml: empty,
          messageId,
        })
      : op === 'Command'
        ? commandRequest(ctx, { shellId: GUID, pipelineId: GUID, arguments: empty, messageId })
        : sendRequest(ctx, { shellId: GUID, commandId: GUID, stream: 'stdin', data: empty, messageId });
  const room = ctx.maxEnvelopeSize - Buffer.byteLength(skeleton.xml, 'utf8') - (opts.slack ?? ENVELOPE_SLACK);
  const budget = Math.floor(room / 4) * 3;
  if (budget <= FRAGMENT_HEADER) {
    throw new RangeError(
      `MaxEnvelopeSize ${ctx.maxEnvelopeSize} leaves no room for PSRP data in a ${op} request (${budget} bytes)`,
    );
  }
  return budget;
}

/**
 * True when the server refused a request for its size: HTTP 413, or a fault with the WS-Management EncodingLimit
 * subcode (MS-WSMV 2.2.4.10, 3.1.4.1.20). The sender should fragment smaller and retry.
 */
export function isEnvelopeTooLarge(e: unknown): boolean {
  if (e instanceof WsmanHttpError) return e.status === 413;
  if (e instanceof WsmanFault) {
    const s = e.info.subcode;
    return e.info.httpStatus === 413 || (s?.ns === NS.wsman && s.local === 'EncodingLimit');
  }
  return false;
}

/**
 * The MaxEnvelopeSize to fall back to after an envelope was refused for size: the 150 KB every server accepts,
 * then halves, never under the protocol minimum; undefined when there is nothing smaller to try.
 */
export function smallerEnvelopeSize(current: number): number | undefined {
  if (current > DEFAULT_MAX_ENVELOPE_SIZE) return DEFAULT_MAX_ENVELOPE_SIZE;
  const half = Math.floor(current / 2);
  return half >= MIN_MAX_ENVELOPE_SIZE
    ? half
    : current > MIN_MAX_ENVELOPE_SIZE
      ? MIN_MAX_ENVELOPE_SIZE
      : undefined;
}
