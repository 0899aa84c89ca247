import type { PSRemotingError, TransportContext } from '@psremote/core';
import type { Deadline } from './deadline.ts';
import { sshError } from './errors.ts';
import {
  appendKnownHost,
  checkKnownHosts,
  fingerprint,
  keyTypeLabel,
  keyTypeOf,
  knownHostsName,
} from './known-hosts.ts';
import type { SshTarget } from './ssh-target.ts';

export interface HostKeyDecision {
  readonly accepted: boolean;
  readonly error?: PSRemotingError;
  /** StrictHostKeyChecking=no on a changed key: connect, but never send a password (as OpenSSH does). */
  readonly disablePasswords?: boolean;
}

/** The name(s) the host key is recorded under: HostKeyAlias, else `host` / `[host]:port`. */
export function hostKeyNames(target: SshTarget): string[] {
  return [target.hostKeyAlias ?? knownHostsName(target.hostName, target.port)];
}

/**
 * Checks the server's host key against known_hosts the way `ssh` does (ssh_config StrictHostKeyChecking):
 * revoked is always refused; a changed key is refused with a loud warning (StrictHostKeyChecking=no connects
 * without password authentication); an unknown key is asked about when someone can answer, accepted and
 * recorded under accept-new/no, and refused otherwise.
 */
export async function verifyHostKey(
  target: SshTarget,
  blob: Buffer,
  ctx: TransportContext,
  deadline: Deadline,
): Promise<HostKeyDecision> {
  const names = hostKeyNames(target);
  const files = [...target.userKnownHostsFiles, ...target.globalKnownHostsFiles];
  const result = checkKnownHosts(files, names, blob);
  const type = keyTypeOf(blob);
  const label = keyTypeLabel(type);
  const fp = fingerprint(blob);
  const name = names[0] ?? target.displayName;
  const userFile = target.userKnownHostsFiles[0];

  if (result.status === 'match') return { accepted: true };

  if (result.status === 'revoked') {
    ctx.hostUi.writeWarningLine(
      `The ${label} host key of ${name} (${fp}) is marked as revoked in ${result.file}:${result.line}.`,
    );
    return {
      accepted: false,
      error: sshError(
        'SshHostKeyRevoked',
        'SecurityError',
        `The ${label} host key presented by ${name} is revoked (${result.file} line ${result.line}); the connection was refused.`,
        {
          targetObject: name,
          recommendedAction:
            'Ask the administrator of the server for its new host key; never remove the @revoked line to get in.',
        },
      ),
    };
  }

  if (result.status === 'changed') {
    ctx.hostUi.writeWarningLine(
      [
        '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
        '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
        '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
        `The ${label} host key that ${name} presents is not the one recorded for it.`,
        'Someone may be intercepting this connection (a man-in-the-middle attack), or the server was reinstalled',
        'or its host key was replaced.',
        `Key now presented: ${fp}`,
        `Key recorded in:   ${result.file}:${result.line}`,
        'Check the new fingerprint with the server administrator; if it is right, remove the old line',
        `(ssh-keygen -R '${name}' -f '${result.file}') and connect again.`,
      ].join('\n'),
    );
    if (target.strictHostKeyChecking === 'no') {
      ctx.hostUi.writeWarningLine(
        'StrictHostKeyChecking=no: connecting anyway, with password and keyboard-interactive authentication disabled.',
      );
      return { accepted: true, disablePasswords: true };
    }
    return {
      accepted: false,
      error: sshError(
        'SshHostKeyChanged',
        'SecurityError',
        `Host key verification failed: the ${label} host key of ${name} has changed (${fp}; recorded one at ${result.file}:${result.line}).`,
        {
          targetObject: name,
          recommendedAction: `Confirm the new fingerprint with the server's administrator, then remove the old entry: ssh-keygen -R '${name}' -f '${result.file}'.`,
        },
      ),
    };
  }

  // Unknown host.
  const accept = (): HostKeyDecision => {
    if (userFile) {
      try {
        appendKnownHost(userFile, name, blob, target.hashKnownHosts);
        ctx.hostUi.writeWarningLine(
          `Permanently added '${name}' (${label}) to the list of known hosts (${userFile}).`,
        );
      } catch (e) {
        ctx.hostUi.writeWarningLine(
          `Could not record the host key of ${name} in ${userFile}: ${(e as Error).message}`,
        );
      }
    }
    return { accepted: true };
  };
  if (target.strictHostKeyChecking === 'no' || target.strictHostKeyChecking === 'accept-new') return accept();

  const refuse = (why: string): HostKeyDecision => ({
    accepted: false,
    error: sshError(
      'SshHostKeyUnknown',
      'SecurityError',
      `Host key verification failed: ${name} is not a known host (${label} key ${fp}) and ${why}.`,
      {
        targetObject: name,
        recommendedAction: `Check the fingerprint with the server's administrator, then add the key to ${userFile ?? '~/.ssh/known_hosts'} (ssh-keyscan -p ${target.port} ${target.hostName}), connect once interactively, or pass -Options @{StrictHostKeyChecking='accept-new'}.`,
      },
    ),
  });
  if (target.strictHostKeyChecking === 'yes') return refuse('StrictHostKeyChecking=yes');
  if (!ctx.hostUi.interactive || target.batchMode)
    return refuse('nobody can be asked to accept it (non-interactive)');

  let choice: number;
  try {
    choice = await deadline.paused(() =>
      ctx.hostUi.promptForChoice(
        'Unknown SSH host',
        `The authenticity of host '${name}' cannot be established.\n${label} key fingerprint is ${fp}.\nAre you sure you want to continue connecting and remember this key?`,
        [
          { label: '&Yes', helpMessage: `Trust this key and record it in ${userFile ?? 'known_hosts'}.` },
          { label: '&No', helpMessage: 'Refuse the key and disconnect.' },
        ],
        1,
        ctx.signal,
      ),
    );
  } catch (e) {
    const r = refuse('the question could not be answered');
    return { ...r, error: r.error && Object.assign(r.error, { cause: e }) };
  }
  if (choice !== 0) return refuse('you declined it');
  return accept();
}
