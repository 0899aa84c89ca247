import { PSRemotingError } from '@psremote/core';

/**
 * Windows' "Encryption Oracle Remediation" policy (CVE-2018-0886; Computer Configuration > Administrative Templates
 * > System > Credentials Delegation; registry `AllowEncryptionOracle`: 0, 1, 2). For a CLIENT, Force Updated
 * Clients and Mitigated are the same: neither falls back to an unpatched server's CredSSP (TSRequest version 2-4,
 * whose public-key binding has no nonce and no hash). They differ only on a server, which under Mitigated still
 * accepts unpatched clients. Vulnerable falls back. Mitigated is the default of every patched Windows since the
 * May 2018 update (KB 4093492), and ours.
 */
export type EncryptionOracle = 'ForceUpdatedClients' | 'Mitigated' | 'Vulnerable';

/** The environment variable that sets the policy for psremote (a name below, or the registry's number). */
export const ENCRYPTION_ORACLE_VARIABLE = 'PSREMOTE_CREDSSP_ENCRYPTION_ORACLE';

/** The policy's default on a patched Windows. */
export const DEFAULT_ENCRYPTION_ORACLE: EncryptionOracle = 'Mitigated';

/** MS-CSSP 3.1.5: from version 5 the server's public key is bound with the client's nonce and SHA-256. */
const FIRST_PATCHED_VERSION = 5;

/** A Map, not an object literal: `constructor` or `__proto__` must not pass for a level. */
const BY_VALUE: ReadonlyMap<string, EncryptionOracle> = new Map([
  ['0', 'ForceUpdatedClients'],
  ['forceupdatedclients', 'ForceUpdatedClients'],
  ['1', 'Mitigated'],
  ['mitigated', 'Mitigated'],
  ['2', 'Vulnerable'],
  ['vulnerable', 'Vulnerable'],
]);

/**
 * The policy `PSREMOTE_CREDSSP_ENCRYPTION_ORACLE` names: `ForceUpdatedClients`, `Mitigated` or `Vulnerable` (any
 * case, spaces ignored, as the Group Policy editor writes them) or the registry's 0, 1, 2; unset or empty is the
 * default. Anything else is refused before connecting: a misspelt relaxation must not pass for the default.
 */
export function encryptionOracleFromEnv(env: Readonly<Record<string, string | undefined>>): EncryptionOracle {
  const raw = env[ENCRYPTION_ORACLE_VARIABLE]?.trim() ?? '';
  if (raw === '') return DEFAULT_ENCRYPTION_ORACLE;
  const policy = BY_VALUE.get(raw.replace(/\s+/g, '').toLowerCase());
  if (policy) return policy;
  throw new PSRemotingError(
    `${ENCRYPTION_ORACLE_VARIABLE}=${JSON.stringify(raw)} is not an Encryption Oracle Remediation level: use ForceUpdatedClients (0), Mitigated (1, the default) or Vulnerable (2).`,
    {
      errorId: 'CredSSPEncryptionOracleInvalid',
      category: 'InvalidArgument',
      targetObject: raw,
      recommendedAction: `Set ${ENCRYPTION_ORACLE_VARIABLE} to ForceUpdatedClients, Mitigated or Vulnerable, or unset it.`,
    },
  );
}

/** The lowest CredSSP version a client under `policy` accepts from the server. */
export function lowestServerVersion(policy: EncryptionOracle): number {
  return policy === 'Vulnerable' ? 2 : FIRST_PATCHED_VERSION;
}

/**
 * What a patched Windows client says when the server's CredSSP is too old for the policy (RDP: "An authentication
 * error has occurred. The function requested is not supported. ... This could be due to CredSSP encryption oracle
 * remediation."; SEC_E_UNSUPPORTED_FUNCTION). Raised before any credential or body is sealed.
 */
export function serverVersionRefused(
  computerName: string,
  serverVersion: number,
  policy: EncryptionOracle,
  cause?: unknown,
): PSRemotingError {
  return new PSRemotingError(
    `Connecting to remote server ${computerName} failed with the following error message : The function requested is not supported. The server speaks CredSSP version ${serverVersion}, which lacks the CVE-2018-0886 fix; this computer's Encryption Oracle Remediation policy (${policy}) does not fall back to it. This could be due to CredSSP encryption oracle remediation. For more information, see the about_Remote_Troubleshooting Help topic.`,
    {
      errorId: 'CredSSPEncryptionOracleRemediation',
      category: 'SecurityError',
      targetObject: computerName,
      cause,
      recommendedAction: `Install the CredSSP update (CVE-2018-0886, March 2018 or later) on ${computerName}. Only if that cannot be done, and on a network you trust, set ${ENCRYPTION_ORACLE_VARIABLE}=Vulnerable for this connection: it exposes the server to the attack the update fixes.`,
    },
  );
}
