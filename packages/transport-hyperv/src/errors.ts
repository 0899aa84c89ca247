import { PSRemotingError } from '@psremote/core';

/**
 * PowerShell's error ids for PowerShell Direct (PSRemotingErrorId; texts from RemotingErrorIdStrings.resx).
 * Every id is listed in core's ERROR_IDS catalogue.
 */
export type HyperVErrorId =
  | 'HyperVModuleNotAvailable'
  | 'InvalidVMId'
  | 'InvalidVMNameNoVM'
  | 'InvalidVMNameMultipleVM'
  | 'InvalidVMState'
  | 'HyperVFailedToGetStateUnknownType'
  | 'InvalidUsername'
  | 'InvalidCredential'
  | 'HyperVInvalidResponse'
  | 'HyperVNegotiationFailed'
  | 'VMSessionConnectFailed'
  | 'CreateRemoteRunspaceForVMFailed'
  | 'PSRemotingConnectTimeout';

/** Who answered wrongly in HyperVInvalidResponse: the broker (socket 1), the server (socket 2), a client. */
export type HyperVPeer = 'Broker' | 'Server' | 'Client';

export const MESSAGES = {
  HyperVModuleNotAvailable: 'The Hyper-V Module for PowerShell is not available on this machine.',
  InvalidVMId: 'The input VMId parameter does not resolve to a single virtual machine.',
  InvalidVMNameNoVM: 'The input VMName parameter does not resolve to any virtual machine.',
  InvalidVMNameMultipleVM: 'The input VMName parameter resolves to multiple virtual machines.',
  InvalidUsername: 'The input username cannot be empty.',
  InvalidCredential: 'The credential is invalid.',
  HyperVNegotiationFailed:
    'Negotiating a secure connection to Hyper-V failed. Make sure the Host and Guest are updated with all relevant Microsoft Updates.',
  VMSessionConnectFailed: 'A failure occurred while attempting to connect to the target virtual machine.',
  HyperVSocketTransportProcessEnded: 'The Hyper-V socket target process has ended.',
} as const;

function hvError(
  errorId: HyperVErrorId,
  category: 'NotInstalled' | 'InvalidArgument' | 'InvalidOperation' | 'InvalidData' | 'OperationTimeout',
  message: string,
  extra: { targetObject?: unknown; cause?: unknown; recommendedAction?: string } = {},
): PSRemotingError {
  return new PSRemotingError(message, { errorId, category, ...extra });
}

export const hyperVErrors = {
  moduleNotAvailable(why?: string): PSRemotingError {
    return hvError('HyperVModuleNotAvailable', 'NotInstalled', MESSAGES.HyperVModuleNotAvailable, {
      recommendedAction:
        why ??
        'PowerShell Direct (-VMId, -VMName) works only on a Windows host with the Hyper-V module for Windows PowerShell installed.',
    });
  },
  invalidVMId(vmId: string): PSRemotingError {
    return hvError('InvalidVMId', 'InvalidArgument', MESSAGES.InvalidVMId, { targetObject: vmId });
  },
  noVM(vmName: string): PSRemotingError {
    return hvError('InvalidVMNameNoVM', 'InvalidArgument', MESSAGES.InvalidVMNameNoVM, {
      targetObject: vmName,
      recommendedAction:
        'Check the name with Get-VM; listing VMs needs membership of Hyper-V Administrators.',
    });
  },
  multipleVM(vmName: string): PSRemotingError {
    return hvError('InvalidVMNameMultipleVM', 'InvalidArgument', MESSAGES.InvalidVMNameMultipleVM, {
      targetObject: vmName,
      recommendedAction: 'Give -VMId instead.',
    });
  },
  notRunning(vmName: string): PSRemotingError {
    return hvError(
      'InvalidVMState',
      'InvalidArgument',
      `The virtual machine ${vmName} is not in running state.`,
      {
        targetObject: vmName,
      },
    );
  },
  unknownState(vmName: string, typeName: string): PSRemotingError {
    return hvError(
      'HyperVFailedToGetStateUnknownType',
      'InvalidOperation',
      `Failed to get Hyper-V VM State. The value was of the type ${typeName} but was expected to be Microsoft.HyperV.PowerShell.VMState or System.String.`,
      { targetObject: vmName },
    );
  },
  invalidUsername(): PSRemotingError {
    return hvError('InvalidUsername', 'InvalidArgument', MESSAGES.InvalidUsername);
  },
  invalidCredential(): PSRemotingError {
    return hvError('InvalidCredential', 'InvalidArgument', MESSAGES.InvalidCredential);
  },
  invalidResponse(peer: HyperVPeer, what: string): PSRemotingError {
    return hvError(
      'HyperVInvalidResponse',
      'InvalidArgument',
      `Hyper-V ${peer} sent an invalid ${what} response during the connection negotiation.`,
    );
  },
  negotiationFailed(): PSRemotingError {
    return hvError('HyperVNegotiationFailed', 'InvalidArgument', MESSAGES.HyperVNegotiationFailed);
  },
  connectFailed(detail?: string, cause?: unknown): PSRemotingError {
    return hvError(
      'VMSessionConnectFailed',
      'InvalidOperation',
      detail ? `${MESSAGES.VMSessionConnectFailed} ${detail}` : MESSAGES.VMSessionConnectFailed,
      { cause },
    );
  },
  timedOut(step: string, ms: number): PSRemotingError {
    return hvError(
      'PSRemotingConnectTimeout',
      'OperationTimeout',
      `${MESSAGES.VMSessionConnectFailed} The virtual machine did not answer within ${ms} ms (${step}).`,
    );
  },
};

/**
 * What Enter-PSSession reports for a failure while the VM session is created (PushRunspaceCommand.cs
 * GetRunspaceForVMSession): FullyQualifiedErrorId CreateRemoteRunspaceForVMFailed, with the precise message of the
 * PowerShell Direct error inside (InvalidArgument), or of any other failure (InvalidOperation). The inner error
 * rides along as `cause`, so its own id (InvalidCredential, ...) stays matchable.
 */
export function createRunspaceForVMFailed(inner: unknown, vmName: string): PSRemotingError {
  const e = inner instanceof Error ? inner : new Error(String(inner));
  const id = (inner as { errorId?: string }).errorId;
  const direct =
    id === 'InvalidUsername' ||
    id === 'InvalidCredential' ||
    id === 'HyperVInvalidResponse' ||
    id === 'HyperVNegotiationFailed';
  return hvError(
    'CreateRemoteRunspaceForVMFailed',
    direct ? 'InvalidArgument' : 'InvalidOperation',
    e.message,
    {
      targetObject: vmName,
      cause: inner,
    },
  );
}
