import { isPSRemotingError } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import {
  ENCRYPTION_ORACLE_VARIABLE,
  encryptionOracleFromEnv,
  lowestServerVersion,
  serverVersionRefused,
} from './encryption-oracle.ts';

describe('the Encryption Oracle Remediation level (PSREMOTE_CREDSSP_ENCRYPTION_ORACLE)', () => {
  const level = (value: string | undefined) =>
    encryptionOracleFromEnv({ [ENCRYPTION_ORACLE_VARIABLE]: value });

  it('defaults to Mitigated, as a patched Windows does, which refuses servers below CredSSP 5', () => {
    expect(encryptionOracleFromEnv({})).toBe('Mitigated');
    expect(level('')).toBe('Mitigated');
    expect(lowestServerVersion('Mitigated')).toBe(5);
    expect(lowestServerVersion('ForceUpdatedClients')).toBe(5);
    expect(lowestServerVersion('Vulnerable')).toBe(2);
  });

  it.each([
    ['0', 'ForceUpdatedClients'],
    ['Force Updated Clients', 'ForceUpdatedClients'],
    ['forceupdatedclients', 'ForceUpdatedClients'],
    ['1', 'Mitigated'],
    [' MITIGATED ', 'Mitigated'],
    ['2', 'Vulnerable'],
    ['Vulnerable', 'Vulnerable'],
  ])('reads %j as %s (the policy names or the registry numbers)', (value, expected) => {
    expect(level(value)).toBe(expected);
  });

  it.each([
    '3',
    'vulnerabel',
    'off',
    '-1',
    'constructor',
    '__proto__',
    'toString',
    'hasOwnProperty',
    '0x2',
    '2.0',
  ])('refuses %j before connecting, naming the levels', (value) => {
    let caught: unknown;
    try {
      level(value);
    } catch (e) {
      caught = e;
    }
    expect(isPSRemotingError(caught) && caught.errorId).toBe('CredSSPEncryptionOracleInvalid');
    expect((caught as Error).message).toContain(
      'ForceUpdatedClients (0), Mitigated (1, the default) or Vulnerable (2)',
    );
  });

  it('a refused server version says what to do: patch the server, or the variable', () => {
    const e = serverVersionRefused('srv01', 3, 'Mitigated');
    expect(e.errorId).toBe('CredSSPEncryptionOracleRemediation');
    expect(e.category).toBe('SecurityError');
    expect(e.message).toMatch(/^Connecting to remote server srv01 failed .*CredSSP version 3/);
    expect(e.recommendedAction).toContain('CVE-2018-0886');
    expect(e.recommendedAction).toContain(`${ENCRYPTION_ORACLE_VARIABLE}=Vulnerable`);
  });
});
