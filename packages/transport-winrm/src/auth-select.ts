import { PSRemotingError } from '@psremote/core';
import { credsspAuth } from './auth/credssp/credssp-auth.ts';
import { credsspNeedsCredential } from './auth/credssp/credssp-select.ts';
import type { EncryptionOracle } from './auth/credssp/encryption-oracle.ts';
import { integratedAuthenticator, kerberosStatus } from './auth/integrated-auth.ts';
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
  /** PSSessionOption.IncludePortInSPN (Kerberos). */
  readonly includePortInSpn?: boolean;
  /** CredSSP: the client's Encryption Oracle Remediation level (default Mitigated). */
  readonly credsspEncryptionOracle?: EncryptionOracle;
}

/** Makes the authenticator for one WsmanClient (a new one per client: NTLM keeps state per connection). */
export type AuthenticatorFactory = (request: AuthenticatorRequest) => WsmanAuthenticator;

/** What is still to come (CredSSP, Digest, client certificates). */
const NOT_YET = 'psremote does not implement it yet (planned: WinRM in a domain, issue 12).';

function notImplemented(what: string, target: string): PSRemotingError {
  return new PSRemotingError(`Connecting to remote server ${target} failed: ${what} ${NOT_YET}`, {
    errorId: 'CreateRemoteRunspaceFailed',
    category: 'NotImplemented',
    targetObject: target,
    recommendedAction:
      'Use -Authentication Negotiate (or Kerberos) with -Credential, or -Authentication Basic with -UseSSL.',
  });
}

/** Kerberos needs the platform's GSSAPI library, loaded at run time; without it, say what is missing. */
function kerberosMissing(what: string, target: string, why: string): PSRemotingError {
  return new PSRemotingError(
    `Connecting to remote server ${target} failed: ${what} needs Kerberos through the system's GSSAPI library, which psremote could not load: ${why}`,
    {
      errorId: 'CreateRemoteRunspaceFailed',
      category: 'NotInstalled',
      targetObject: target,
      recommendedAction:
        'Install the Kerberos library (Debian/Ubuntu: libgssapi-krb5-2; Fedora: krb5-libs), or give -Credential to use NTLM.',
    },
  );
}

let gssapiReason: string | null | undefined;
/** Null when Kerberos can be used here (GSSAPI, or SSPI on Windows), else why not (checked once). */
function gssapiProblem(): string | null {
  if (gssapiReason === undefined) {
    const status = kerberosStatus();
    gssapiReason = status.available ? null : status.error.message;
  }
  return gssapiReason;
}

/**
 * Refuses, before anything goes on the wire, what this build cannot do: CredSSP, Digest, Basic without a
 * credential, and Kerberos (explicit, implicit, or Default/Negotiate without -Credential) where the system's
 * GSSAPI library is missing. `kerberos` is for tests: whether GSSAPI is there (default: loaded and checked once).
 */
export function checkMechanism(
  mechanism: AuthenticationMechanism,
  hasCredential: boolean,
  target: string,
  kerberos: () => string | null = gssapiProblem,
): void {
  const needKerberos = (what: string) => {
    const why = kerberos();
    if (why !== null) throw kerberosMissing(what, target, why);
  };
  switch (mechanism) {
    case 'Kerberos':
      needKerberos('Kerberos authentication (-Authentication Kerberos)');
      return;
    case 'Credssp':
      if (!hasCredential) throw credsspNeedsCredential(target);
      return;
    case 'Digest':
      // WinRM itself does not accept Digest for remote shells either.
      throw notImplemented('Digest authentication (-Authentication Digest):', target);
    case 'NegotiateWithImplicitCredential':
      needKerberos(
        "Negotiate with the current user's credentials (-Authentication NegotiateWithImplicitCredential)",
      );
      return;
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
      // Without -Credential, Negotiate can only use the current user's Kerberos tickets (no NTLM logon session
      // to borrow on Unix).
      if (!hasCredential)
        needKerberos(`${mechanism} authentication without -Credential (the current user's Kerberos tickets)`);
  }
}

/**
 * The authenticator for `-Authentication`: Basic; Kerberos and Negotiate through the system GSSAPI when it loads
 * (Kerberos first, then our NTLM with -Credential; implicit credentials from the user's tickets), else Negotiate as
 * our TypeScript NTLM inside SPNEGO. Message encryption over HTTP unless NoEncryption; channel binding over HTTPS.
 */
export const authenticatorFor: AuthenticatorFactory = (request) => {
  const { mechanism, credential, endpoint, noEncryption } = request;
  checkMechanism(mechanism, credential !== undefined, endpoint.computerName);
  if (mechanism === 'Basic') {
    const c = credential as WinrmCredential;
    return basicAuth(c.userName, c.reveal());
  }
  if (mechanism === 'Credssp') {
    const c = credential as WinrmCredential;
    return credsspAuth({
      username: c.userName,
      password: c.reveal(),
      encryption: noEncryption ? 'never' : 'always',
      ...(request.credsspEncryptionOracle ? { encryptionOracle: request.credsspEncryptionOracle } : {}),
    });
  }
  if (mechanism === 'Digest') throw notImplemented(mechanism, endpoint.computerName);
  if (gssapiProblem() === null)
    return integratedAuthenticator({
      mechanism,
      credential,
      endpoint,
      noEncryption,
      ...(request.includePortInSpn ? { includePortInSpn: true } : {}),
    });
  const c = credential as WinrmCredential;
  return negotiateAuth({
    username: c.userName,
    password: c.reveal(),
    encryption: noEncryption ? 'never' : 'always',
  });
};
