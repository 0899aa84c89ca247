/** A subcode or other QName, resolved: namespace URI and local name (never a prefix). */
export interface QName {
  readonly ns: string;
  readonly local: string;
}

/** What the server's WSManFault detail said (MS-WSMV 2.2.4.43). */
export interface WsmanFaultInfo {
  /** HTTP status of the response that carried the fault (Windows: 500; 400 for some sender faults). */
  readonly httpStatus: number;
  /** The SOAP 1.2 Code value: `Sender` or `Receiver` (local name). */
  readonly code: QName | undefined;
  /** The first SOAP Subcode value, e.g. `{wsman}TimedOut`, `{wsman}InvalidSelectors`, `{wsman}EncodingLimit`. */
  readonly subcode: QName | undefined;
  /** s:Reason/s:Text. */
  readonly reason: string;
  /** `wsmanfault:WSManFault/@Code`: the WinRM error code as an unsigned 32-bit number (2150858793). */
  readonly wsmanCode: number | undefined;
  /** `wsmanfault:WSManFault/@Machine`. */
  readonly machine: string | undefined;
  /**
   * The WSManFault message text (the innermost provider fault's message when the server nested one), what the
   * WinRM client hands PowerShell as the error detail; else the Reason.
   */
  readonly detail: string;
  /** w:FaultDetail URI, when given. */
  readonly faultDetail: string | undefined;
}

/** Base of everything the WS-Management layer throws. Match on `kind`. */
export abstract class WsmanError extends Error {
  abstract readonly kind: 'fault' | 'http' | 'transport' | 'protocol';
}

/** The server answered with a SOAP fault. */
export class WsmanFault extends WsmanError {
  readonly kind = 'fault' as const;
  readonly info: WsmanFaultInfo;
  constructor(info: WsmanFaultInfo) {
    super(info.detail || info.reason || 'WS-Management fault');
    this.name = 'WsmanFault';
    this.info = info;
  }
  /** The WinRM code as PowerShell's signed `int` error code (2150858793 -> -2144108503). */
  get signedCode(): number | undefined {
    return this.info.wsmanCode === undefined ? undefined : this.info.wsmanCode | 0;
  }
}

/** An HTTP error status without a SOAP fault (401, 413 without body, 502 from a proxy, ...). */
export class WsmanHttpError extends WsmanError {
  readonly kind = 'http' as const;
  readonly status: number;
  constructor(status: number, statusText: string) {
    super(`The server answered HTTP ${status}${statusText ? ` ${statusText}` : ''}.`);
    this.name = 'WsmanHttpError';
    this.status = status;
  }
}

/**
 * The server asked for the request to go elsewhere (HTTP 3xx with a Location): what WinRM reports as
 * ERROR_WSMAN_REDIRECT_REQUESTED with WSMAN_OPTION_REDIRECT_LOCATION, and PowerShell follows only with
 * -AllowRedirection ([PS] WSManTransportManager.cs ConstructTransportErrorEventArgs).
 */
export class WsmanRedirect extends WsmanHttpError {
  /** The Location header as sent (absolute or relative to the request URL). */
  readonly location: string;
  constructor(status: number, location: string) {
    super(status, 'Redirect');
    this.name = 'WsmanRedirect';
    this.location = location;
  }
}

/** The request did not get an answer: refused, reset, DNS, TLS, timed out or aborted. */
export class WsmanTransportError extends WsmanError {
  readonly kind = 'transport' as const;
  /** `ECONNREFUSED`, `ENOTFOUND`, `UND_ERR_HEADERS_TIMEOUT`, `AbortError`, a TLS code, ... */
  readonly code: string;
  constructor(message: string, code: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'WsmanTransportError';
    this.code = code;
  }
}

/** The answer broke the protocol: not XML, too big, too deep, wrong RelatesTo, missing elements. */
export class WsmanProtocolError extends WsmanError {
  readonly kind = 'protocol' as const;
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'WsmanProtocolError';
  }
}

export function isWsmanError(e: unknown): e is WsmanError {
  return e instanceof WsmanError;
}
