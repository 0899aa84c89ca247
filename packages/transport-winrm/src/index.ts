/**
 * @psremote/transport-winrm: Enter-PSSession's ComputerName and Uri parameter sets over WS-Management (WinRM).
 * See this package's README.
 */
export {
  AUTHENTICATION_MECHANISMS,
  type AuthenticationMechanism,
  type AuthenticatorFactory,
  type AuthenticatorRequest,
  authenticatorFor,
  WinrmCredential,
} from './auth-select.ts';
export {
  type ComputerNameTarget,
  type ConnectionUriTarget,
  endpointFromComputerName,
  endpointFromConnectionUri,
  type WsmanEndpoint,
} from './url/wsman-endpoint.ts';
export { redirectEndpoint, WinrmConnection, type WinrmConnectionOptions } from './winrm-connection.ts';
export { cultureFromEnv, type WinrmSessionOptions, winrmSessionOptions } from './winrm-options.ts';
export {
  createWinrmTransport,
  register,
  resolveWinrmTarget,
  type TransportContainer,
  type WinrmTarget,
  type WinrmTransportOptions,
  winrmTransport,
} from './winrm-transport.ts';
export { basicAuth, type WsmanAuthenticator } from './wsman/auth.ts';
