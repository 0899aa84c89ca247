import { PSRemotingError } from '../errors/ps-remoting-error.ts';
import type { ParameterSetName } from '../parameters/types.ts';
import { satisfiesApiRange } from './api-range.ts';
import { TRANSPORT_API, type TransportPlugin } from './contract.ts';

/** The package that serves each parameter set, for the "install it" message. */
export const TRANSPORT_PACKAGE_FOR_SET: Readonly<Record<ParameterSetName, string | undefined>> = {
  ComputerName: '@psremote/transport-winrm',
  Uri: '@psremote/transport-winrm',
  SSHHost: '@psremote/transport-ssh',
  ContainerId: '@psremote/transport-container',
  VMId: '@psremote/transport-hyperv',
  VMName: '@psremote/transport-hyperv',
  Session: undefined,
  Id: undefined,
  Name: undefined,
  InstanceId: undefined,
};

/** The sets that enter an existing PSSession (New-PSSession) rather than a transport target. */
const SESSION_SETS: ReadonlySet<ParameterSetName> = new Set(['Session', 'Id', 'Name', 'InstanceId']);

/**
 * Picks the transport for a parameter set, like Rollup's hookFirst: the first registered plugin whose
 * `apiRange` accepts this kernel's TRANSPORT_API and that serves the set.
 */
export function selectTransport(
  plugins: readonly TransportPlugin[],
  set: ParameterSetName,
  options: {
    /** Transport packages that are installed but implement nothing yet (they export `implemented: false`). */
    readonly placeholders?: ReadonlySet<string>;
    /**
     * The command that installs a package where this program finds it (`npm install -g <pkg>` for a global
     * install); `npm install <pkg>` when not given.
     */
    readonly installCommand?: (pkg: string) => string;
  } = {},
): TransportPlugin {
  const serving = plugins.filter((p) => p.parameterSets.includes(set));
  const compatible = serving.filter((p) => satisfiesApiRange(TRANSPORT_API, p.apiRange));
  const chosen = compatible[0];
  if (chosen) return chosen;
  const mismatched = serving[0];
  if (mismatched) {
    throw new PSRemotingError(
      `The transport '${mismatched.name}' serves the ${set} parameter set, but it was written for transport API ${mismatched.apiRange} and this psremote kernel provides ${TRANSPORT_API}. Install a version of the transport that matches this @psremote/core.`,
      { errorId: 'TransportApiMismatch', category: 'NotInstalled', targetObject: mismatched.name },
    );
  }
  if (SESSION_SETS.has(set)) {
    throw new PSRemotingError(
      `The ${set} parameter set enters a PSSession opened earlier (New-PSSession), not a transport target: no transport serves it. In a program, enter the session with enterPSSession({ session }) or findSession({ id }); on the command line, open it with psremote new and enter it with psremote enter -Id, -Name or -InstanceId.`,
      { errorId: 'TransportNotRegistered', category: 'NotImplemented', targetObject: set },
    );
  }
  const pkg = TRANSPORT_PACKAGE_FOR_SET[set];
  if (pkg && options.placeholders?.has(pkg)) {
    throw new PSRemotingError(
      `The ${set} parameter set needs ${pkg}, which is installed but does not implement it yet: this version of the package is a placeholder.`,
      {
        errorId: 'TransportNotImplemented',
        category: 'NotImplemented',
        targetObject: set,
        recommendedAction: `Reach the machine another way (-HostName over SSH, -ContainerId), or install a version of ${pkg} that implements it.`,
      },
    );
  }
  const install = pkg ? (options.installCommand ?? ((p: string) => `npm install ${p}`))(pkg) : undefined;
  throw new PSRemotingError(
    `No installed transport serves the ${set} parameter set. Install it with: ${install ?? 'npm install a transport for it'}`,
    {
      errorId: 'TransportNotRegistered',
      category: 'NotInstalled',
      targetObject: set,
      recommendedAction: install,
    },
  );
}
