/** XML namespaces of WS-Management and the Windows shell (MS-WSMV 2.2.1). Matched by URI, never by prefix. */
export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  addressing: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  transfer: 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
  wsman: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  wsmv: 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
  shell: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
  wsmanFault: 'http://schemas.microsoft.com/wbem/wsman/1/wsmanfault',
  powershell: 'http://schemas.microsoft.com/powershell',
  xml: 'http://www.w3.org/XML/1998/namespace',
} as const;

/** wsa:Action values (MS-WSMV 3.1.4; responses append `Response`). */
export const ACTION = {
  Create: `${NS.transfer}/Create`,
  Delete: `${NS.transfer}/Delete`,
  Command: `${NS.shell}/Command`,
  Send: `${NS.shell}/Send`,
  Receive: `${NS.shell}/Receive`,
  Signal: `${NS.shell}/Signal`,
} as const;

export type WsmanOperation = keyof typeof ACTION;

/** The action of a SOAP fault (WS-Addressing / WS-Management). */
export const FAULT_ACTIONS: readonly string[] = [
  `${NS.addressing}/fault`,
  'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault',
];

export const ANONYMOUS_REPLY_TO = `${NS.addressing}/role/anonymous`;

/**
 * Signal codes. PowerShell's client and its server plugin use `powershell/signal/crtl_c` (misspelt, as in MS-PSRP
 * 3.1.5.3.9) to stop a pipeline; the plugin compares it ordinally and treats any other code as close
 * ([PS] WSManTransportManager.cs:2780 StopSignal; fanin/WSManPlugin.cs:33, 1586-1620).
 */
export const SIGNAL = {
  stop: 'powershell/signal/crtl_c',
  terminate: `${NS.shell}/signal/terminate`,
} as const;

/** rsp:CommandState values (MS-WSMV 2.2.4.7; [PS] WSManNativeAPI.cs WSMAN_COMMAND_STATE_*). */
export const COMMAND_STATE = {
  Done: `${NS.shell}/CommandState/Done`,
  Pending: `${NS.shell}/CommandState/Pending`,
  Running: `${NS.shell}/CommandState/Running`,
} as const;
