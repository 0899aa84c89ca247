import { randomUUID } from 'node:crypto';
import { ACTION, ANONYMOUS_REPLY_TO, NS, SIGNAL } from './namespaces.ts';

/** What every request of one session shares. */
export interface EnvelopeContext {
  /** The endpoint URL (`WsmanEndpoint.url`): `wsa:To`. */
  readonly to: string;
  /** The shell's resource URI (`WsmanEndpoint.resourceUri`). */
  readonly resourceUri: string;
  /** `wsman:MaxEnvelopeSize`, in bytes. */
  readonly maxEnvelopeSize: number;
  /** The UI culture (`wsman:Locale`), e.g. `en-US`. */
  readonly locale: string;
  /** The culture (`wsmv:DataLocale`), e.g. `en-US`. */
  readonly dataLocale: string;
  /** `wsman:OperationTimeout` in seconds. */
  readonly operationTimeoutSeconds: number;
  /** `wsmv:SessionId` (`uuid:UPPER`), one per client session; absent: not sent. */
  readonly sessionId?: string;
}

/** A built request: its action, its MessageID (to match `wsa:RelatesTo`) and the envelope text. */
export interface WsmanRequest {
  readonly action: string;
  readonly messageId: string;
  readonly xml: string;
}

export interface WsmanOption {
  readonly name: string;
  readonly value: string;
  readonly mustComply?: boolean;
}

/** `uuid:` and an upper-case GUID, as Windows' client and pypsrp write MessageID and SessionId. */
export function newMessageId(): string {
  return `uuid:${randomUUID().toUpperCase()}`;
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text and attribute escaping for the values put into envelopes. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c] as string);
}

/** xs:duration seconds: `PT20S`, `PT0.500S`. */
export function durationSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`invalid duration: ${seconds}`);
  return Number.isInteger(seconds) ? `PT${seconds}S` : `PT${seconds.toFixed(3)}S`;
}

function base64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

interface HeaderParts {
  readonly action: string;
  readonly messageId: string;
  readonly selectorShellId?: string;
  readonly options?: readonly WsmanOption[];
  readonly operationTimeoutSeconds?: number;
}

/**
 * The envelope, with the header in the order of the requests Windows accepted in the recordings (MS-WSMV 2.2.4;
 * pypsrp's shape, `research/protocols.md` 4.2). `wsman:Locale` must not be mustUnderstand="true" (MS-WSMV
 * 3.1.4.1.8); MaxEnvelopeSize must be (it changes what the server may send).
 */
function envelope(ctx: EnvelopeContext, h: HeaderParts, body: string): WsmanRequest {
  const timeout = h.operationTimeoutSeconds ?? ctx.operationTimeoutSeconds;
  let header =
    `<wsa:Action s:mustUnderstand="true">${escapeXml(h.action)}</wsa:Action>` +
    `<wsmv:DataLocale s:mustUnderstand="false" xml:lang="${escapeXml(ctx.dataLocale)}"/>` +
    `<wsman:Locale s:mustUnderstand="false" xml:lang="${escapeXml(ctx.locale)}"/>` +
    `<wsman:MaxEnvelopeSize s:mustUnderstand="true">${ctx.maxEnvelopeSize}</wsman:MaxEnvelopeSize>` +
    `<wsa:MessageID>${h.messageId}</wsa:MessageID>` +
    `<wsman:OperationTimeout>${durationSeconds(timeout)}</wsman:OperationTimeout>` +
    `<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">${ANONYMOUS_REPLY_TO}</wsa:Address></wsa:ReplyTo>` +
    `<wsman:ResourceURI s:mustUnderstand="true">${escapeXml(ctx.resourceUri)}</wsman:ResourceURI>` +
    (ctx.sessionId
      ? `<wsmv:SessionId s:mustUnderstand="false">${escapeXml(ctx.sessionId)}</wsmv:SessionId>`
      : '') +
    `<wsa:To>${escapeXml(ctx.to)}</wsa:To>`;
  if (h.options && h.options.length > 0) {
    header += '<wsman:OptionSet s:mustUnderstand="true">';
    for (const o of h.options) {
      header += `<wsman:Option Name="${escapeXml(o.name)}"${o.mustComply ? ' MustComply="true"' : ''}>${escapeXml(o.value)}</wsman:Option>`;
    }
    header += '</wsman:OptionSet>';
  }
  if (h.selectorShellId !== undefined) {
    header += `<wsman:SelectorSet><wsman:Selector Name="ShellId">${escapeXml(h.selectorShellId)}</wsman:Selector></wsman:SelectorSet>`;
  }
  const xml =
    `<s:Envelope xmlns:s="${NS.soap}" xmlns:wsa="${NS.addressing}" xmlns:wsman="${NS.wsman}" ` +
    `xmlns:wsmv="${NS.wsmv}" xmlns:rsp="${NS.shell}">` +
    `<s:Header>${header}</s:Header>${body === '' ? '<s:Body/>' : `<s:Body>${body}</s:Body>`}</s:Envelope>`;
  return { action: h.action, messageId: h.messageId, xml };
}

export interface CreateShellArgs {
  /** The runspace pool id; the ShellId is its upper-case form, as PowerShell sends it. */
  readonly runspacePoolId: string;
  /** `rsp:Shell/@Name` (PowerShell: the runspace name, `Runspace1`; OMI refuses a Shell without it). */
  readonly name: string;
  /** SESSION_CAPABILITY and INIT_RUNSPACEPOOL fragments (MS-PSRP 3.1.5.3.1: only these two may travel here). */
  readonly creationXml: Uint8Array;
  /** Default `2.3` (RemotingConstants.ProtocolVersion). */
  readonly protocolVersion?: string;
  /** `rsp:IdleTimeOut`; absent: the server's default. */
  readonly idleTimeoutSeconds?: number;
  /** PSSessionOption.NoMachineProfile: `WINRS_NOPROFILE` ([PS] WSManTransportManager.cs:1139-1146). */
  readonly noMachineProfile?: boolean;
  readonly messageId?: string;
}

/** WS-Transfer Create of the shell: opens the runspace pool ([PS] WSManTransportManager.cs CreateAsync). */
export function createShellRequest(ctx: EnvelopeContext, a: CreateShellArgs): WsmanRequest {
  const options: WsmanOption[] = [
    { name: 'protocolversion', value: a.protocolVersion ?? '2.3', mustComply: true },
  ];
  if (a.noMachineProfile) options.push({ name: 'WINRS_NOPROFILE', value: 'TRUE', mustComply: true });
  const body =
    `<rsp:Shell ShellId="${escapeXml(a.runspacePoolId.toUpperCase())}" Name="${escapeXml(a.name)}">` +
    '<rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams>' +
    (a.idleTimeoutSeconds !== undefined
      ? `<rsp:IdleTimeOut>${durationSeconds(a.idleTimeoutSeconds)}</rsp:IdleTimeOut>`
      : '') +
    `<creationXml xmlns="${NS.powershell}">${base64(a.creationXml)}</creationXml></rsp:Shell>`;
  return envelope(ctx, { action: ACTION.Create, messageId: a.messageId ?? newMessageId(), options }, body);
}

export interface CommandArgs {
  /** The ShellId the server returned (an old server picks its own instead of the one proposed). */
  readonly shellId: string;
  /** The pipeline id; CommandId is its upper-case form ([PS] WSManTransportManager.cs:3056-3060). */
  readonly pipelineId: string;
  /** The first fragment of CREATE_PIPELINE or GET_COMMAND_METADATA. */
  readonly arguments: Uint8Array;
  /** `rsp:Command` text; PowerShell puts the command line for history there, pypsrp nothing. */
  readonly commandLine?: string;
  readonly messageId?: string;
}

/**
 * rsp:Command: creates a pipeline with its first fragment (MS-PSRP 3.1.5.3.3). Later Send, Receive and Signal
 * use the CommandId of the response: a WinRM 2.0 server (protocol 2.1 recording) assigns its own.
 */
export function commandRequest(ctx: EnvelopeContext, a: CommandArgs): WsmanRequest {
  const body =
    `<rsp:CommandLine CommandId="${escapeXml(a.pipelineId.toUpperCase())}">` +
    (a.commandLine ? `<rsp:Command>${escapeXml(a.commandLine)}</rsp:Command>` : '<rsp:Command/>') +
    `<rsp:Arguments>${base64(a.arguments)}</rsp:Arguments></rsp:CommandLine>`;
  return envelope(
    ctx,
    {
      action: ACTION.Command,
      messageId: a.messageId ?? newMessageId(),
      selectorShellId: a.shellId,
      // Windows accepted this option from pypsrp; PowerShell leaves it to the WinRM client's default.
      options: [{ name: 'WINRS_SKIP_CMD_SHELL', value: 'False' }],
    },
    body,
  );
}

export interface SendArgs {
  readonly shellId: string;
  /** `stdin` for PSRP data, `pr` for host responses (MS-PSRP 3.1.5.3.5). */
  readonly stream: 'stdin' | 'pr';
  /** The CommandId the server returned for the pipeline; absent: the runspace pool. */
  readonly commandId?: string;
  /** One or more whole PSRP fragments. */
  readonly data: Uint8Array;
  readonly messageId?: string;
}

/** rsp:Send. */
export function sendRequest(ctx: EnvelopeContext, a: SendArgs): WsmanRequest {
  const cmd = a.commandId ? ` CommandId="${escapeXml(a.commandId)}"` : '';
  const body = `<rsp:Send><rsp:Stream Name="${a.stream}"${cmd}>${base64(a.data)}</rsp:Stream></rsp:Send>`;
  return envelope(
    ctx,
    { action: ACTION.Send, messageId: a.messageId ?? newMessageId(), selectorShellId: a.shellId },
    body,
  );
}

export interface ReceiveArgs {
  readonly shellId: string;
  /** The CommandId the server returned for the pipeline; absent: the runspace pool. */
  readonly commandId?: string;
  /** The long-poll timeout; absent: the context's. */
  readonly operationTimeoutSeconds?: number;
  readonly messageId?: string;
}

/** rsp:Receive of `stdout`, with WSMAN_CMDSHELL_OPTION_KEEPALIVE (MS-PSRP 3.1.5.3.7). */
export function receiveRequest(ctx: EnvelopeContext, a: ReceiveArgs): WsmanRequest {
  const cmd = a.commandId ? ` CommandId="${escapeXml(a.commandId)}"` : '';
  const body = `<rsp:Receive><rsp:DesiredStream${cmd}>stdout</rsp:DesiredStream></rsp:Receive>`;
  return envelope(
    ctx,
    {
      action: ACTION.Receive,
      messageId: a.messageId ?? newMessageId(),
      selectorShellId: a.shellId,
      options: [{ name: 'WSMAN_CMDSHELL_OPTION_KEEPALIVE', value: 'True' }],
      ...(a.operationTimeoutSeconds !== undefined
        ? { operationTimeoutSeconds: a.operationTimeoutSeconds }
        : {}),
    },
    body,
  );
}

export interface SignalArgs {
  readonly shellId: string;
  /** The CommandId the server returned. */
  readonly commandId: string;
  /** Default: stop the pipeline (`powershell/signal/crtl_c`). */
  readonly code?: string;
  readonly messageId?: string;
}

/** rsp:Signal to a command: stop (`SIGNAL.stop`) or close (`SIGNAL.terminate`). */
export function signalRequest(ctx: EnvelopeContext, a: SignalArgs): WsmanRequest {
  const body =
    `<rsp:Signal CommandId="${escapeXml(a.commandId)}">` +
    `<rsp:Code>${escapeXml(a.code ?? SIGNAL.stop)}</rsp:Code></rsp:Signal>`;
  return envelope(
    ctx,
    { action: ACTION.Signal, messageId: a.messageId ?? newMessageId(), selectorShellId: a.shellId },
    body,
  );
}

/** WS-Transfer Delete of the shell: closes the runspace pool (empty body). */
export function deleteRequest(
  ctx: EnvelopeContext,
  a: { shellId: string; messageId?: string },
): WsmanRequest {
  return envelope(
    ctx,
    { action: ACTION.Delete, messageId: a.messageId ?? newMessageId(), selectorShellId: a.shellId },
    '',
  );
}
