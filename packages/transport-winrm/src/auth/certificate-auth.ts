import type { WsmanAuthenticator } from '../wsman/auth.ts';
import { ClientCertificateError } from './client-certificate.ts';

/**
 * The WS-Management security profile of client-certificate authentication over HTTPS (DSP0226 C.3.5,
 * `wsman:secprofile/https/mutual`). WinRM clients send it as the whole Authorization header of every request
 * (pywinrm, pypsrp and the Go clients do the same); the proof itself is the certificate in the TLS handshake.
 */
export const HTTPS_MUTUAL_PROFILE = 'http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual';

/**
 * Client-certificate authentication: the certificate goes in the TLS options of the client (WsmanTlsOptions.cert
 * and key); this only names the profile. Nothing is sent anywhere but HTTPS, even after a redirect.
 */
export function certificateAuth(): WsmanAuthenticator {
  return {
    prepare(req) {
      if (req.url.protocol !== 'https:')
        throw new ClientCertificateError(
          'HttpNotAllowed',
          `Client certificate authentication needs HTTPS; ${req.url.origin} is not.`,
        );
      return { headers: { authorization: HTTPS_MUTUAL_PROFILE } };
    },
  };
}
