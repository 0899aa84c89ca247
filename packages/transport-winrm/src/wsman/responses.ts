import type { WsmanRequest } from './envelope.ts';
import { type QName, WsmanFault, type WsmanFaultInfo, WsmanProtocolError } from './errors.ts';
import { COMMAND_STATE, FAULT_ACTIONS, NS } from './namespaces.ts';
import {
  child,
  childrenOf,
  DEFAULT_XML_LIMITS,
  deepText,
  parseXml,
  textQName,
  type XmlElement,
  type XmlLimits,
} from './xml.ts';

/** A parsed, checked response envelope. */
export interface WsmanResponse {
  readonly action: string;
  readonly relatesTo: string | undefined;
  readonly header: XmlElement;
  /** The first element of s:Body, if any. */
  readonly body: XmlElement | undefined;
  /** All of s:Body's elements. */
  readonly bodyElements: readonly XmlElement[];
}

function header(envelope: XmlElement): XmlElement {
  const h = child(envelope, NS.soap, 'Header');
  if (!h) throw new WsmanProtocolError('the response has no SOAP Header');
  return h;
}

function faultInfo(fault: XmlElement, httpStatus: number): WsmanFaultInfo {
  const codeEl = child(fault, NS.soap, 'Code');
  const code = (() => {
    const v = child(codeEl, NS.soap, 'Value');
    return v ? textQName(v) : undefined;
  })();
  const subcode = (() => {
    const v = child(child(codeEl, NS.soap, 'Subcode'), NS.soap, 'Value');
    return v ? textQName(v) : undefined;
  })();
  const reason = (child(child(fault, NS.soap, 'Reason'), NS.soap, 'Text')?.text ?? '').trim();
  const detail = child(fault, NS.soap, 'Detail');
  const wsf = child(detail, NS.wsmanFault, 'WSManFault');
  const rawCode = wsf?.attrs.get('Code');
  const wsmanCode = rawCode !== undefined && /^\d{1,10}$/.test(rawCode) ? Number(rawCode) : undefined;
  // The text the WinRM client reports: the WSManFault Message, or the innermost provider fault's message.
  const message = (() => {
    let m = child(wsf, NS.wsmanFault, 'Message');
    for (let i = 0; m && i < 8; i++) {
      const inner = child(
        child(child(m, NS.wsmanFault, 'ProviderFault'), NS.wsmanFault, 'WSManFault'),
        NS.wsmanFault,
        'Message',
      );
      if (!inner) break;
      m = inner;
    }
    return m ? deepText(m).replace(/\s+/g, ' ').trim() : '';
  })();
  return {
    httpStatus,
    code,
    subcode,
    reason,
    wsmanCode: wsmanCode !== undefined && wsmanCode <= 0xffffffff ? wsmanCode : undefined,
    machine: wsf?.attrs.get('Machine'),
    // OMI's faults may carry no text at all (Delete: an empty Reason, subcode InternalError only).
    detail:
      message ||
      reason ||
      `The WS-Management service answered with a fault (${subcode?.local ?? code?.local ?? 'no code'}).`,
    faultDetail: child(detail, NS.wsman, 'FaultDetail')?.text.trim(),
  };
}

/**
 * Parses a response and checks it answers `request`: a SOAP fault becomes a WsmanFault (whatever the HTTP status);
 * otherwise the action must be the request's plus `Response` and `wsa:RelatesTo` must equal its MessageID
 * (`research/protocols.md` 4.2).
 */
export function parseResponse(
  request: WsmanRequest,
  httpStatus: number,
  text: string,
  limits: XmlLimits = DEFAULT_XML_LIMITS,
): WsmanResponse {
  const env = parseXml(text, limits);
  if (env.ns !== NS.soap || env.local !== 'Envelope')
    throw new WsmanProtocolError('the response is not a SOAP 1.2 envelope');
  const h = header(env);
  const bodyEl = child(env, NS.soap, 'Body');
  const bodyElements = bodyEl?.children ?? [];
  const action = child(h, NS.addressing, 'Action')?.text.trim() ?? '';
  const relatesTo = child(h, NS.addressing, 'RelatesTo')?.text.trim();
  const fault = child(bodyEl, NS.soap, 'Fault');
  if (fault || FAULT_ACTIONS.includes(action)) {
    if (!fault) throw new WsmanProtocolError('the response has a fault action but no s:Fault');
    if (relatesTo !== undefined && relatesTo.toLowerCase() !== request.messageId.toLowerCase())
      throw new WsmanProtocolError('the fault answers another request (wsa:RelatesTo does not match)');
    throw new WsmanFault(faultInfo(fault, httpStatus));
  }
  // Case-insensitive: OMI answers `.../windows/Shell/ReceiveResponse` (capital S) to `.../windows/shell/Receive`.
  if (action.toLowerCase() !== `${request.action}Response`.toLowerCase())
    throw new WsmanProtocolError(
      `expected the action ${request.action}Response, got '${action.slice(0, 200)}'`,
    );
  if (relatesTo === undefined || relatesTo.toLowerCase() !== request.messageId.toLowerCase())
    throw new WsmanProtocolError(
      'the response answers another request (wsa:RelatesTo does not match MessageID)',
    );
  return { action, relatesTo, header: h, body: bodyElements[0], bodyElements };
}

/** Parses only a fault (an HTTP error whose body may be one); undefined if the text is not a SOAP fault. */
export function parseFault(
  httpStatus: number,
  text: string,
  limits: XmlLimits = DEFAULT_XML_LIMITS,
): WsmanFault | undefined {
  try {
    const env = parseXml(text, limits);
    const fault = child(child(env, NS.soap, 'Body'), NS.soap, 'Fault');
    return fault ? new WsmanFault(faultInfo(fault, httpStatus)) : undefined;
  } catch {
    return undefined;
  }
}

export interface CreateShellResult {
  readonly shellId: string;
  readonly resourceUri: string | undefined;
}

/** CreateResponse: the ShellId from rsp:Shell/rsp:ShellId or the ResourceCreated selector (MS-WSMV 3.1.4.1.30). */
export function readCreateResponse(r: WsmanResponse): CreateShellResult {
  const shell = r.bodyElements.find((e) => e.ns === NS.shell && e.local === 'Shell');
  const created = r.bodyElements.find((e) => e.ns === NS.transfer && e.local === 'ResourceCreated');
  const refs = child(created, NS.addressing, 'ReferenceParameters');
  const selector = childrenOf(child(refs, NS.wsman, 'SelectorSet'), NS.wsman, 'Selector').find(
    (s) => s.attrs.get('Name') === 'ShellId',
  );
  const shellId = (child(shell, NS.shell, 'ShellId')?.text ?? selector?.text ?? '').trim();
  if (!shellId) throw new WsmanProtocolError('the CreateResponse has no ShellId');
  const resourceUri = (
    child(shell, NS.shell, 'ResourceUri')?.text ?? child(refs, NS.wsman, 'ResourceURI')?.text
  )?.trim();
  return { shellId, resourceUri };
}

/** CommandResponse: the CommandId the server took (PowerShell's pipeline id, upper-case). */
export function readCommandResponse(r: WsmanResponse): { commandId: string } {
  const resp = r.bodyElements.find((e) => e.ns === NS.shell && e.local === 'CommandResponse');
  const commandId = child(resp, NS.shell, 'CommandId')?.text.trim();
  if (!commandId) throw new WsmanProtocolError('the CommandResponse has no CommandId');
  return { commandId };
}

export interface ReceivedStream {
  readonly name: string;
  /** The pipeline the data belongs to; absent: the runspace pool. */
  readonly commandId: string | undefined;
  /** `End="true"`: the last data of this stream. */
  readonly end: boolean;
  /** One or more PSRP fragments (possibly none). */
  readonly data: Uint8Array;
}

export interface CommandState {
  readonly commandId: string | undefined;
  /** `Done`, `Running`, `Pending`, or the state URI as sent when it is none of these. */
  readonly state: string;
  readonly exitCode: number | undefined;
}

export interface ReceiveResult {
  readonly streams: readonly ReceivedStream[];
  readonly commandState: CommandState | undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64: anything else in a Stream is a protocol error, not silently dropped bytes. */
export function decodeBase64(text: string): Uint8Array {
  const t = text.replace(/\s+/g, '');
  if (!BASE64.test(t)) throw new WsmanProtocolError('a Stream element holds invalid base64');
  return new Uint8Array(Buffer.from(t, 'base64'));
}

/** ReceiveResponse: each rsp:Stream's bytes, and rsp:CommandState when present (MS-WSMV 2.2.4.31). */
export function readReceiveResponse(r: WsmanResponse): ReceiveResult {
  const resp = r.bodyElements.find((e) => e.ns === NS.shell && e.local === 'ReceiveResponse');
  if (!resp) throw new WsmanProtocolError('the ReceiveResponse has no rsp:ReceiveResponse');
  const streams = childrenOf(resp, NS.shell, 'Stream').map((s) => ({
    name: s.attrs.get('Name') ?? '',
    commandId: s.attrs.get('CommandId'),
    end: (s.attrs.get('End') ?? '').toLowerCase() === 'true',
    data: decodeBase64(s.text),
  }));
  const cs = child(resp, NS.shell, 'CommandState');
  let commandState: CommandState | undefined;
  if (cs) {
    const uri = cs.attrs.get('State') ?? '';
    const state =
      uri === COMMAND_STATE.Done
        ? 'Done'
        : uri === COMMAND_STATE.Running
          ? 'Running'
          : uri === COMMAND_STATE.Pending
            ? 'Pending'
            : uri;
    const ec = child(cs, NS.shell, 'ExitCode')?.text.trim();
    commandState = {
      commandId: cs.attrs.get('CommandId'),
      state,
      exitCode: ec !== undefined && /^-?\d{1,10}$/.test(ec) ? Number(ec) : undefined,
    };
  }
  return { streams, commandState };
}

/** The WinRM code of a Receive that timed out with nothing to say: re-issue it ([pypsrp] shell.py:450-455). */
export const WSMAN_OPERATION_TIMEOUT = 2150858793;

/** True for the OperationTimeout fault a long-poll Receive answers when no output came (w:TimedOut). */
export function isOperationTimeout(e: unknown): boolean {
  if (!(e instanceof WsmanFault)) return false;
  const sub: QName | undefined = e.info.subcode;
  return e.info.wsmanCode === WSMAN_OPERATION_TIMEOUT || (sub?.ns === NS.wsman && sub.local === 'TimedOut');
}
