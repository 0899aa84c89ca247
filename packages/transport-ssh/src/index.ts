export { type SshErrorId, sshError } from './errors.ts';
export {
  appendKnownHost,
  checkKnownHosts,
  fingerprint,
  hostPatternsMatch,
  type KnownHostsResult,
  knownHostsName,
} from './known-hosts.ts';
export { type ParsedHostName, parseSshHostName, sshUserName } from './parse-host-name.ts';
export { localUserName, type ResolveOptions, resolveSshTarget } from './resolve-target.ts';
export { openSshChannel, type SshChannel, type SshTimings } from './ssh-connect.ts';
export type { IdentityFile, SshTarget, StrictHostKeyChecking } from './ssh-target.ts';
export {
  createSshTransport,
  register,
  SSH_SERVER_ERROR_PREFIX,
  type SshTransportOptions,
  sshTransport,
  type TransportContainer,
} from './ssh-transport.ts';
