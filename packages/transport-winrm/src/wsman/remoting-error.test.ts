import { describe, expect, it } from 'vitest';
import { WsmanFault, WsmanHttpError, WsmanProtocolError, WsmanTransportError } from './errors.ts';
import { NS } from './namespaces.ts';
import { describeTransportError, openFailedError } from './remoting-error.ts';

const ctx = { computerName: 'srv01', resourceUri: 'http://schemas.microsoft.com/powershell/Nope' };
const fault = (wsmanCode: number, detail: string) =>
  new WsmanFault({
    httpStatus: 500,
    code: { ns: NS.soap, local: 'Sender' },
    subcode: { ns: NS.wsman, local: 'InvalidResourceURI' },
    reason: 'reason',
    wsmanCode,
    machine: 'srv01',
    detail,
    faultDetail: undefined,
  });

describe('PowerShell messages and ids for WS-Management failures', () => {
  it('Create fault: ConnectExCallBackError + help topic, FQEID from the code', () => {
    const d = describeTransportError(fault(2150858770, 'The client cannot connect.'), 'Create', ctx);
    expect(d.message).toBe(
      'Connecting to remote server srv01 failed with the following error message : The client cannot connect. For more information, see the about_Remote_Troubleshooting Help topic.',
    );
    expect(d.errorCode).toBe(-2144108526);
    expect(d.transportErrorId).toBe('CannotConnect');
    expect(d.newPSSessionErrorId).toBe('CannotConnect,PSSessionOpenFailed');
  });

  it('an unnamed code is its signed decimal', () => {
    const d = describeTransportError(fault(2150858793, 'timed out'), 'CommandReceive', ctx);
    expect(d.newPSSessionErrorId).toBe('-2144108503,PSSessionOpenFailed');
    expect(d.message).toBe(
      'Processing data for a remote command failed with the following error message: timed out For more information, see the about_Remote_Troubleshooting Help topic.',
    );
  });

  it('an unknown configuration: InvalidConfigurationName inside ConnectExCallBackError', () => {
    const d = describeTransportError(fault(2150858811, 'The WS-Management service cannot...'), 'Create', ctx);
    expect(d.message).toBe(
      'Connecting to remote server srv01 failed with the following error message : The WS-Management service cannot process the request. Cannot find the Nope session configuration in the WSMan: drive on the srv01 computer. For more information, see the about_Remote_Troubleshooting Help topic.',
    );
    expect(d.transportErrorId).toBe('InvalidResourceUri');
  });

  it('quotes @{ as ParseEscapeWSManErrorMessage does', () => {
    const d = describeTransportError(
      fault(1, 'run winrm set winrm/config @{MaxEnvelopeSizekb="500"}'),
      'Create',
      ctx,
    );
    expect(d.transportMessage).toContain('@{');
    expect(d.message).toContain(`'@{MaxEnvelopeSizekb="500"}'`);
  });

  it('401 is AccessDenied, "Access is denied."; a refused connection CannotConnect; abort 995; protocol errors', () => {
    const denied = describeTransportError(new WsmanHttpError(401, 'Unauthorized'), 'Create', ctx);
    expect(denied.message).toBe(
      'Connecting to remote server srv01 failed with the following error message : Access is denied. For more information, see the about_Remote_Troubleshooting Help topic.',
    );
    expect(denied.newPSSessionErrorId).toBe('AccessDenied,PSSessionOpenFailed');
    const refused = describeTransportError(new WsmanTransportError('refused', 'ECONNREFUSED'), 'Create', ctx);
    expect(refused.transportErrorId).toBe('CannotConnect');
    expect(
      describeTransportError(new WsmanTransportError('x', 'AbortError'), 'Create', ctx).transportErrorId,
    ).toBe('WinRMOperationAborted');
    const proto = describeTransportError(
      new WsmanProtocolError('the response carries a DTD'),
      'PoolReceive',
      ctx,
    );
    expect(proto.errorCode).toBe(0);
    expect(proto.newPSSessionErrorId).toBe('PSSessionOpenFailed');
    expect(proto.message).toContain('broke the WS-Management protocol: the response carries a DTD');
  });

  it("Enter-PSSession's error: CreateRemoteRunspaceFailed, InvalidArgument, the computer as target", () => {
    const cause = new WsmanHttpError(401, '');
    const e = openFailedError(cause, 'Create', ctx);
    expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(e.category).toBe('InvalidArgument');
    expect(e.targetObject).toBe('srv01');
    expect(e.fullyQualifiedErrorId).toBe(
      'CreateRemoteRunspaceFailed,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
    );
    expect(e.cause).toBe(cause);
  });
});
