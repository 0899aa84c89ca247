import { describe, expect, it } from 'vitest';
import type { WsmanRequest } from './envelope.ts';
import { WsmanFault, WsmanProtocolError } from './errors.ts';
import { ACTION } from './namespaces.ts';
import { parseResponse, readCreateResponse, readReceiveResponse } from './responses.ts';

// Shapes OMI 1.x with PowerShell's WSMan plugin answered on this machine (2026-11, test/omi-live.peer.test.ts):
// SOAP-ENV: prefixes, a CreateResponse with only the ResourceCreated selector, `windows/Shell/` in the action.
const NSDECL =
  'xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
  'xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:wxf="http://schemas.xmlsoap.org/ws/2004/09/transfer"';
const omi = (action: string, relatesTo: string, body: string) =>
  `<SOAP-ENV:Envelope ${NSDECL}><SOAP-ENV:Header><wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>` +
  `<wsa:Action>${action}</wsa:Action><wsa:MessageID>uuid:562A0090-612F-0006-0000-000000050000</wsa:MessageID>` +
  `<wsa:RelatesTo>${relatesTo}</wsa:RelatesTo></SOAP-ENV:Header><SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`;
const req = (action: string): WsmanRequest => ({
  action,
  messageId: 'uuid:A5D24F0C-223B-4128-8E5B-A337229E5941',
  xml: '',
});

describe('OMI response shapes', () => {
  it('CreateResponse with only ResourceCreated', () => {
    const text = omi(
      'http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse',
      'uuid:A5D24F0C-223B-4128-8E5B-A337229E5941',
      '<wxf:ResourceCreated><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address>' +
        '<wsa:ReferenceParameters><wsman:ResourceURI>http://schemas.microsoft.com/powershell/Microsoft.PowerShell</wsman:ResourceURI>' +
        '<wsman:SelectorSet><wsman:Selector Name="ShellId">C790FE22-C791-404A-ADA5-C14D50690F33</wsman:Selector></wsman:SelectorSet>' +
        '</wsa:ReferenceParameters></wxf:ResourceCreated>',
    );
    expect(readCreateResponse(parseResponse(req(ACTION.Create), 200, text))).toEqual({
      shellId: 'C790FE22-C791-404A-ADA5-C14D50690F33',
      resourceUri: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
    });
  });

  it('ReceiveResponse under windows/Shell/ with a pool CommandState that has no CommandId', () => {
    const text = omi(
      'http://schemas.microsoft.com/wbem/wsman/1/windows/Shell/ReceiveResponse',
      'uuid:a5d24f0c-223b-4128-8e5b-a337229e5941',
      '<p:ReceiveResponse xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><p:Stream Name="stdout">AAEC</p:Stream>' +
        '<p:CommandState State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"></p:CommandState>' +
        '</p:ReceiveResponse>',
    );
    const r = readReceiveResponse(parseResponse(req(ACTION.Receive), 200, text));
    expect(r.streams).toEqual([
      { name: 'stdout', commandId: undefined, end: false, data: new Uint8Array([0, 1, 2]) },
    ]);
    expect(r.commandState).toEqual({ commandId: undefined, state: 'Running', exitCode: undefined });
  });

  it('a fault with no text (OMI Delete) still says what it is', () => {
    const text = omi(
      'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault',
      'uuid:A5D24F0C-223B-4128-8E5B-A337229E5941',
      '<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Receiver</SOAP-ENV:Value><SOAP-ENV:Subcode>' +
        '<SOAP-ENV:Value>wsman:InternalError</SOAP-ENV:Value></SOAP-ENV:Subcode></SOAP-ENV:Code>' +
        '<SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en-US"></SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>',
    );
    let err: unknown;
    try {
      parseResponse(req(ACTION.Delete), 500, text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WsmanFault);
    expect((err as WsmanFault).message).toBe(
      'The WS-Management service answered with a fault (InternalError).',
    );
    expect((err as WsmanFault).info.subcode?.local).toBe('InternalError');
  });

  it('refuses another action, a missing RelatesTo and bad base64', () => {
    const ok = '<p:ReceiveResponse xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"/>';
    const id = 'uuid:A5D24F0C-223B-4128-8E5B-A337229E5941';
    expect(() => parseResponse(req(ACTION.Receive), 200, omi(`${ACTION.Send}Response`, id, ok))).toThrow(
      WsmanProtocolError,
    );
    expect(() =>
      parseResponse(
        req(ACTION.Receive),
        200,
        omi(`${ACTION.Receive}Response`, '', ok).replace('<wsa:RelatesTo></wsa:RelatesTo>', ''),
      ),
    ).toThrow(WsmanProtocolError);
    const badB64 = ok.replace('/>', '><p:Stream Name="stdout">AA!=</p:Stream></p:ReceiveResponse>');
    expect(() =>
      readReceiveResponse(
        parseResponse(req(ACTION.Receive), 200, omi(`${ACTION.Receive}Response`, id, badB64)),
      ),
    ).toThrow(WsmanProtocolError);
  });
});
