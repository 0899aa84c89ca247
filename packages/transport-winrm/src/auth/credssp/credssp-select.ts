import { PSRemotingError } from '@psremote/core';

/**
 * `-Authentication Credssp` without `-Credential`: CredSSP delegates a password, so it cannot use the current
 * user's logon. WinRM refuses it before connecting (ERROR_WSMAN_CLIENT_CREDSSP_USERNAME_PASSWORD_NEEDED); the
 * words are WinRM's.
 */
export function credsspNeedsCredential(target: string): PSRemotingError {
  return new PSRemotingError(
    `Connecting to remote server ${target} failed with the following error message : The WinRM client cannot process the request. Requests must include user name and password when CredSSP authentication mechanism is used. Add the user name and password or change the authentication mechanism and try the request again.`,
    {
      errorId: 'CreateRemoteRunspaceFailed',
      category: 'InvalidArgument',
      targetObject: target,
      recommendedAction: 'Give -Credential with -Authentication Credssp.',
    },
  );
}
