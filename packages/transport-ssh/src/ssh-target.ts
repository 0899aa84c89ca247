import type { TransportTarget } from '@psremote/core';

/** ssh_config(5) StrictHostKeyChecking; `off` is read as `no`. */
export type StrictHostKeyChecking = 'yes' | 'no' | 'ask' | 'accept-new';

/** An identity file to offer, in order. */
export interface IdentityFile {
  readonly path: string;
  /** Named by -KeyFilePath, -Options or ssh_config (a missing one is reported), not an OpenSSH default. */
  readonly explicit: boolean;
}

/**
 * Everything `connect` needs, as `ssh` would compute it from its command line, the user's ~/.ssh/config and
 * the system ssh_config (first value wins; pwsh's explicit parameters come first on the command line).
 */
export interface SshTarget extends TransportTarget {
  /** The host as given in -HostName (what ssh_config `Host` patterns match). */
  readonly alias: string;
  /** Where to connect: ssh_config `HostName`, else the alias. */
  readonly hostName: string;
  readonly port: number;
  /** The remote user name (DOMAIN\user already mapped to user@DOMAIN). */
  readonly user: string;
  readonly identityFiles: readonly IdentityFile[];
  readonly identitiesOnly: boolean;
  /** ssh_config IdentityAgent: a socket path, `none`, or undefined for SSH_AUTH_SOCK. */
  readonly identityAgent?: string;
  readonly subsystem: string;
  readonly userKnownHostsFiles: readonly string[];
  readonly globalKnownHostsFiles: readonly string[];
  readonly hostKeyAlias?: string;
  readonly strictHostKeyChecking: StrictHostKeyChecking;
  readonly hashKnownHosts: boolean;
  /** BatchMode=yes: never ask anything. */
  readonly batchMode: boolean;
  readonly pubkeyAuthentication: boolean;
  readonly passwordAuthentication: boolean;
  readonly kbdInteractiveAuthentication: boolean;
  readonly numberOfPasswordPrompts: number;
  /** ssh_config ConnectTimeout: TCP connect and SSH banner exchange. */
  readonly connectTimeoutMs?: number;
  /** PowerShell's -ConnectingTimeout: from the start until the first PSRP packet. */
  readonly connectingTimeoutMs?: number;
  readonly serverAliveIntervalMs: number;
  readonly serverAliveCountMax: number;
  /** ssh_config ProxyJump: `[user@]host[:port]`, comma-separated hops. */
  readonly proxyJump?: string;
  /** -Options keys this transport does not implement (reported as warnings when connecting). */
  readonly ignoredOptions: readonly string[];
  /** For the host-key prompt and messages: `host` or `[host]:port`. */
  readonly displayName: string;
}
