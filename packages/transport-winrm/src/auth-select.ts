import { PSRemotingError } from '@psremote/core';
import { negotiateAuth } from './auth/negotiate-auth.ts';
import type { WsmanEndpoint } from './url/wsman-endpoint.ts';
import { basicAuth, type WsmanAuthenticator } from './wsman/auth.ts';

/** `-Authentication` (System.Management.Automation.Runspaces.AuthenticationMechanism), as the binder gives it. */
export type AuthenticationMechanism =
  | 'Default'
  | 'Basic'
  | 'Negotiate'
  | 'NegotiateWithImplicitCredential'
  | 'Credssp'
  | 'Digest'
  | 'Kerberos';

export const AUTHENTICATION_MECHANISMS: readonly AuthenticationMechanism[] = [
  'Default',
  'Basic',
  'Negotiate',
  'NegotiateWithImplicitCredential',
  'Credssp',
  'Digest',
  'Kerberos',
];

/** A user name and its password; the password is never enumerable, printed or serialised. */
export class WinrmCredential {
  readonly userName: string;
  readonly #password: string;
  constructor(userName: string, password: string) {
    this.userName = userName;
    this.#password = password;
  }
  /** The password, for the authenticator only. */
  reveal(): string {
    return this.#password;
  }
  toJSON(): { userName: string } {
    return { userName: this.userName };
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `WinrmCredential { userName: '${this.userName}' }`;
  }
}

export interface AuthenticatorRequest {
  readonly mechanism: AuthenticationMechanism;
  /** The bound -Credential; absent: the current user's (implicit) credentials. */
  readonly credential: WinrmCredential | undefined;
  readonly endpoint: WsmanEndpoint;
  /** PSSessionOption.NoEncryption: no MS-WSMV message encryption over HTTP (the server must allow it). */
  readonly noEncryption: boolean;
}

/** Makes the authenticator for one WsmanClient (a new one per client: NTLM keeps state per connection). */
export type AuthenticatorFactory = (request: AuthenticatorRequest) => WsmanAuthenticator;

/** What issue 12 brings (Kerberos, CredSSP, implicit credentials, client certificates). */
const NOT_YET = 'psremote does not implement it yet (planned: WinRM in a domain, issue 12).';

function notImplemented(what: string, target: string): PSRemotingError {
  return new PSRemotingError(`Connecting to remote server ${target} failed: ${what} ${NOT_YET}`, {
    errorId: 'CreateRemoteRunspaceFailed',
    category: 'NotImplemented',
    targetObject: target,
    recommendedAction:
      'Use -Authentication Basic with -UseSSL (or -SessionOption @{NoEncryption=$true} against a server that allows unencrypted traffic), or -Authentication Negotiate with -Credential.',
  });
}

/**
 * Refuses, before anything goes on the wire, what this build cannot do: Kerberos, CredSSP, Digest and implicit
 * credentials (`NegotiateWithImplicitCredential`, or Default/Negotiate without -Credential, which need Kerberos
 * tickets of the logged-on user).
 */
export function checkMechanism(
  mechanism: AuthenticationMechanism,
  hasCredential: boolean,
  target: string,
): void {
  switch (mechanism) {
    case 'Kerberos':
      throw notImplemented('Kerberos authentication (-Authentication Kerberos):', target);
    case 'Credssp':
      throw notImplemented('CredSSP authentication (-Authentication Credssp):', target);
    case 'Digest':
      // WinRM itself does not accept Digest for remote shells either.
      throw notImplemented('Digest authentication (-Authentication Digest):', target);
    case 'NegotiateWithImplicitCredential':
      throw notImplemented(
        "Negotiate with the current user's credentials (-Authentication NegotiateWithImplicitCredential):",
        target,
      );
    case 'Basic':
      if (!hasCredential) {
        // WinRM: Basic needs explicit credentials (ERROR_WSMAN_CLIENT_BASIC_AUTHENTICATION... "must specify a
        // user name and password"); Enter-PSSession's binder prompts only when -Credential names a user.
        throw new PSRemotingError(
          `Connecting to remote server ${target} failed: Basic authentication needs a user name and password: give -Credential.`,
          { errorId: 'CreateRemoteRunspaceFailed', category: 'InvalidArgument', targetObject: target },
        );
      }
      return;
    default:
      if (!hasCredential)
        throw notImplemented(
          `${mechanism} authentication without -Credential (the current user's Kerberos tickets):`,
          target,
        );
  }
}

/**
 * The authenticator for `-Authentication`: Basic, and Default / Negotiate with -Credential as NTLM inside SPNEGO
 * (our TypeScript NTLMv2, src/auth), with MS-WSMV message encryption over HTTP unless NoEncryption, and the channel
 * binding over HTTPS. Kerberos inside Negotiate comes with issue 12.
 */
export const authenticatorFor: AuthenticatorFactory = (request) => {
  const { mechanism, credential, endpoint, noEncryption } = request;
  checkMechanism(mechanism, credential !== undefined, endpoint.computerName);
  const c = credential as WinrmCredential;
  if (mechanism === 'Basic') return basicAuth(c.userName, c.reveal());
  return negotiateAuth({
    username: c.userName,
    password: c.reveal(),
    encryption: noEncryption ? 'never' : 'always',
  });
};
