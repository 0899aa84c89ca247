import { describe, expect, it } from 'vitest';
import { deserializeClixml } from '../../clixml/deserialize.ts';
import { serializeClixml } from '../../clixml/serialize.ts';
import { PSDictionary, type PSList, PSObject, PSPrimitive } from '../../clixml/value.ts';
import { hostMethodId } from '../../host/host-method.ts';
import { encodeHostReturn, hostErrorRecord } from '../../host/host-return.ts';
import {
  decodeErrorRecord,
  decodeInformationRecord,
  decodeProgressRecord,
  errorRecordObject,
  informationRecordObject,
  progressRecordObject,
} from '../../records/records.ts';
import { sampleHostData } from '../../testing/host-data.ts';
import {
  commandTypesName,
  connectRunspacePoolBody,
  createPipelineBody,
  decodeCallId,
  decodeCreatePipeline,
  decodeGetCommandMetadata,
  decodeHostResponse,
  decodeInitRunspacePool,
  decodePublicKey,
  decodeSessionCapability,
  getAvailableRunspacesBody,
  getCommandMetadataBody,
  hostResponseBody,
  initRunspacePoolBody,
  type PipelineSpec,
  publicKeyBody,
  resetRunspaceStateBody,
  sessionCapabilityBody,
  setRunspacesBody,
} from './client-messages.ts';
import { PipelineResultTypes } from './enum.ts';
import { hostCallBody } from './server-messages.ts';

const keys = (xml: string) => [...(deserializeClixml(xml) as PSObject).extended.keys()];

const HOST = sampleHostData({
  cursorPosition: { x: 1, y: 2 },
  windowPosition: { x: 3, y: 4 },
  maxWindowSize: { width: 121, height: 41 },
  windowTitle: 'title <&>',
});

describe('client -> server messages: the layout PowerShell writes (protocols.md 1.4-1.8)', () => {
  it('SESSION_CAPABILITY is exactly protocolversion 2.3, PSVersion 2.0, SerializationVersion 1.1.0.1', () => {
    expect(sessionCapabilityBody()).toBe(
      '<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>',
    );
    expect(decodeSessionCapability(sessionCapabilityBody())).toEqual({
      protocolVersion: '2.3',
      psVersion: '2.0',
      serializationVersion: '1.1.0.1',
      propertyOrder: ['protocolversion', 'PSVersion', 'SerializationVersion'],
    });
  });

  it('INIT_RUNSPACEPOOL: property order of EncodeAndDecode.cs and a full HostInfo with all ten RawUI keys', () => {
    const xml = initRunspacePoolBody({ minRunspaces: 1, maxRunspaces: 2, host: HOST });
    expect(keys(xml)).toEqual([
      'MinRunspaces',
      'MaxRunspaces',
      'PSThreadOptions',
      'ApartmentState',
      'ApplicationArguments',
      'HostInfo',
    ]);
    expect(xml).toContain(
      '<TN RefId="0"><T>System.Management.Automation.Runspaces.PSThreadOptions</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>Default</ToString><I32>0</I32>',
    );
    expect(xml).toMatch(/<ToString>Unknown<\/ToString><I32>2<\/I32>/);
    const hostInfo = (deserializeClixml(xml) as PSObject).get('HostInfo') as PSObject;
    expect([...hostInfo.extended.keys()]).toEqual([
      '_hostDefaultData',
      '_isHostNull',
      '_isHostUINull',
      '_isHostRawUINull',
      '_useRunspaceHost',
    ]);
    const info = decodeInitRunspacePool(xml);
    expect(info).toMatchObject({ minRunspaces: 1, maxRunspaces: 2, threadOptions: 0, apartmentState: 2 });
    expect(info.hostInfo).toMatchObject({
      isHostNull: false,
      isHostUINull: false,
      isHostRawUINull: false,
      useRunspaceHost: false,
    });
    const dd = info.hostInfo.defaultData;
    expect([...dd.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(dd.get(0)).toEqual(['System.ConsoleColor', 7]);
    expect(dd.get(4)).toEqual(['System.Int32', 25]);
    expect(dd.get(9)).toEqual(['System.String', 'title <&>']);
    const coords = dd.get(2)?.[1] as PSObject;
    expect(dd.get(2)?.[0]).toBe('System.Management.Automation.Host.Coordinates');
    expect([coords.get('x'), coords.get('y')]).toEqual([1, 2]);
    const size = dd.get(7)?.[1] as PSObject;
    expect(dd.get(7)?.[0]).toBe('System.Management.Automation.Host.Size');
    expect([size.get('width'), size.get('height')]).toEqual([121, 41]);
  });

  it('INIT_RUNSPACEPOOL without a host: no _hostDefaultData, RawUI null; hasUi false makes the whole host null', () => {
    const noRaw = decodeInitRunspacePool(
      initRunspacePoolBody({ minRunspaces: 1, maxRunspaces: 1, host: null }),
    );
    expect(noRaw.hostInfo).toMatchObject({ isHostNull: false, isHostUINull: false, isHostRawUINull: true });
    expect(noRaw.hostInfo.defaultData.size).toBe(0);
    const none = decodeInitRunspacePool(
      initRunspacePoolBody({ minRunspaces: 1, maxRunspaces: 1, host: null, hasUi: false }),
    );
    expect(none.hostInfo).toMatchObject({ isHostNull: true, isHostUINull: true, isHostRawUINull: true });
  });

  const interactive: PipelineSpec = {
    commands: [
      {
        command: 'Get-ChildItem /tmp | Select -First 2',
        isScript: true,
        mergeMyResult: PipelineResultTypes.Error,
        mergeToResult: PipelineResultTypes.Output,
        mergeError: PipelineResultTypes.Output,
      },
      { command: 'Out-Default', mergePreviousResults: 3 },
    ],
    addToHistory: true,
    history: 'Get-ChildItem /tmp | Select -First 2',
  };

  it("CREATE_PIPELINE with the host's current RawUI: its own HostInfo, not the pool's", () => {
    const xml = createPipelineBody({
      commands: [{ command: '1', isScript: true }],
      host: { ...HOST, windowSize: { width: 150, height: 40 } },
    });
    const { hostInfo } = decodeCreatePipeline(xml);
    expect(hostInfo).toMatchObject({
      isHostNull: false,
      isHostUINull: false,
      isHostRawUINull: false,
      useRunspaceHost: false,
    });
    expect(hostInfo.defaultData.get(6)?.[0]).toBe('System.Management.Automation.Host.Size');
    const size = hostInfo.defaultData.get(6)?.[1] as PSObject;
    expect([size.get('width'), size.get('height')]).toEqual([150, 40]);
  });

  it('CREATE_PIPELINE for an interactive line: order, merge enums (3 prints as Warning), HostInfo of a pipeline', () => {
    const xml = createPipelineBody(interactive);
    expect(keys(xml)).toEqual([
      'PowerShell',
      'NoInput',
      'ApartmentState',
      'RemoteStreamOptions',
      'AddToHistory',
      'HostInfo',
      'IsNested',
    ]);
    const o = deserializeClixml(xml) as PSObject;
    const ps = o.get('PowerShell') as PSObject;
    expect([...ps.extended.keys()]).toEqual(['Cmds', 'IsNested', 'History', 'RedirectShellErrorOutputPipe']);
    const cmds = ((ps.get('Cmds') as PSObject).baseValue as PSList).items as PSObject[];
    expect([...(cmds[0] as PSObject).extended.keys()]).toEqual([
      'Cmd',
      'IsScript',
      'UseLocalScope',
      'MergeMyResult',
      'MergeToResult',
      'MergePreviousResults',
      'MergeError',
      'MergeWarning',
      'MergeVerbose',
      'MergeDebug',
      'MergeInformation',
      'Args',
    ]);
    expect(xml).toMatch(
      /<Obj N="MergeMyResult" RefId="\d+"><TN RefId="(\d+)"><T>System\.Management\.Automation\.Runspaces\.PipelineResultTypes<\/T><T>System\.Enum<\/T><T>System\.ValueType<\/T><T>System\.Object<\/T><\/TN><ToString>Error<\/ToString><I32>2<\/I32><\/Obj>/,
    );
    expect(xml).toMatch(
      /<Obj N="MergePreviousResults" RefId="\d+"><TNRef RefId="\d+" \/><ToString>Warning<\/ToString><I32>3<\/I32><\/Obj>/,
    );
    expect((cmds[0] as PSObject).get('UseLocalScope')).toBeNull();
    expect(String((cmds[0] as PSObject).get('MergeMyResult'))).toBe('Error');
    expect(String((cmds[0] as PSObject).get('MergeToResult'))).toBe('Output');
    expect(String((cmds[0] as PSObject).get('MergeError'))).toBe('Output');
    expect(String((cmds[1] as PSObject).get('MergeWarning'))).toBe('None');
    const hi = o.get('HostInfo') as PSObject;
    expect([...hi.extended.entries()]).toEqual([
      ['_isHostNull', true],
      ['_isHostUINull', true],
      ['_isHostRawUINull', true],
      ['_useRunspaceHost', true],
    ]);
    expect(String(o.get('RemoteStreamOptions'))).toBe('None');
    expect(o.get('NoInput')).toBe(true);
    // The round trip gives back the spec.
    const back = decodeCreatePipeline(xml);
    expect(back.commands).toEqual([
      {
        command: 'Get-ChildItem /tmp | Select -First 2',
        isScript: true,
        useLocalScope: null,
        parameters: [],
        mergeMyResult: 2,
        mergeToResult: 1,
        mergePreviousResults: 0,
        mergeError: 1,
        mergeWarning: 0,
        mergeVerbose: 0,
        mergeDebug: 0,
        mergeInformation: 0,
      },
      expect.objectContaining({ command: 'Out-Default', isScript: false, mergePreviousResults: 3 }),
    ]);
    expect(back).toMatchObject({
      addToHistory: true,
      history: interactive.history,
      noInput: true,
      isNested: false,
    });
  });

  it('CREATE_PIPELINE parameters (named, positional, switch), ExtraCmds first, AddInvocationInfo', () => {
    const spec: PipelineSpec = {
      commands: [
        {
          command: 'Get-Item',
          useLocalScope: true,
          parameters: [
            { name: 'Path', value: '/tmp' },
            { name: null, value: 42 },
            { name: 'Force', value: true },
          ],
        },
      ],
      extraStatements: [[{ command: 'Get-Date' }], [{ command: '$x', isScript: true }]],
      noInput: false,
      isNested: true,
      remoteStreamOptions: 15,
      useRunspaceHost: false,
    };
    const xml = createPipelineBody(spec);
    expect(xml).toContain('<S N="N">Path</S><S N="V">/tmp</S>');
    expect(xml).toContain('<Nil N="N" /><I32 N="V">42</I32>');
    expect(xml).toContain('<ToString>AddInvocationInfo</ToString><I32>15</I32>');
    const ps = (deserializeClixml(xml) as PSObject).get('PowerShell') as PSObject;
    expect([...ps.extended.keys()][0]).toBe('ExtraCmds');
    const back = decodeCreatePipeline(xml);
    expect(back.commands[0]?.parameters).toEqual(spec.commands[0]?.parameters);
    expect(back.commands[0]?.useLocalScope).toBe(true);
    expect(back.extraStatements?.map((s) => s.map((c) => c.command))).toEqual([['Get-Date'], ['$x']]);
    expect(back).toMatchObject({
      noInput: false,
      isNested: true,
      remoteStreamOptions: 15,
      useRunspaceHost: false,
    });
  });

  it('GET_COMMAND_METADATA: Name (string[]), CommandType, Namespace, FullyQualifiedModule, ArgumentList', () => {
    const xml = getCommandMetadataBody(['Get-*'], 0x10f);
    expect(keys(xml)).toEqual(['Name', 'CommandType', 'Namespace', 'FullyQualifiedModule', 'ArgumentList']);
    expect(xml).toContain(
      '<ToString>Alias, Function, Filter, Cmdlet, Configuration</ToString><I32>271</I32>',
    );
    expect(decodeGetCommandMetadata(xml)).toEqual({ names: ['Get-*'], commandType: 271 });
    expect(commandTypesName(8)).toBe('Cmdlet');
    expect(commandTypesName(383)).toBe('All');
    expect(commandTypesName(1 | 16)).toBe('Alias, ExternalScript');
  });

  it('PUBLIC_KEY, the pool requests with call ids and CONNECT_RUNSPACEPOOL', () => {
    expect(publicKeyBody('QUJD')).toBe('<Obj RefId="0"><MS><S N="PublicKey">QUJD</S></MS></Obj>');
    expect(decodePublicKey(publicKeyBody('QUJD'))).toBe('QUJD');
    expect(setRunspacesBody('MaxRunspaces', 4, 7n)).toBe(
      '<Obj RefId="0"><MS><I32 N="MaxRunspaces">4</I32><I64 N="ci">7</I64></MS></Obj>',
    );
    expect(decodeCallId(setRunspacesBody('MinRunspaces', 1, 8n))).toBe(8n);
    expect(decodeCallId(getAvailableRunspacesBody(9n))).toBe(9n);
    expect(decodeCallId(resetRunspaceStateBody(10n))).toBe(10n);
    expect(connectRunspacePoolBody(1, 2)).toBe(
      '<Obj RefId="0"><MS><I32 N="MinRunspaces">1</I32><I32 N="MaxRunspaces">2</I32></MS></Obj>',
    );
  });
});

describe('host calls and responses (protocols.md 1.6)', () => {
  const plain = (s: string) => Buffer.from(s, 'utf16le').toString('base64');

  it('a host call is ci (I64), mi (RemoteHostMethodId enum), mp (ArrayList)', () => {
    const xml = hostCallBody(-100n, hostMethodId('Write2'), [9, 15, 'Write2']);
    expect(xml).toBe(
      '<Obj RefId="0"><MS><I64 N="ci">-100</I64><Obj N="mi" RefId="1"><TN RefId="0"><T>System.Management.Automation.Remoting.RemoteHostMethodId</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>Write2</ToString><I32>14</I32></Obj><Obj N="mp" RefId="2"><TN RefId="1"><T>System.Collections.ArrayList</T><T>System.Object</T></TN><LST><I32>9</I32><I32>15</I32><S>Write2</S></LST></Obj></MS></Obj>',
    );
  });

  it.each([
    ['ReadLine', { kind: 'string', value: 'typed' } as const, '<S N="mr">typed</S>'],
    ['PromptForChoice', { kind: 'int32', value: 1 } as const, '<I32 N="mr">1</I32>'],
    [
      'ReadLineAsSecureString',
      { kind: 'secureString', value: 'pw' } as const,
      `<SS N="mr">${plain('pw')}</SS>`,
    ],
    ['GetKeyAvailable', { kind: 'boolean', value: false } as const, '<B N="mr">false</B>'],
  ])('%s answer: %s', (method, value, mr) => {
    const id = hostMethodId(method);
    const xml = hostResponseBody(5n, id, method, { mr: encodeHostReturn(value, plain) });
    expect(xml).toContain('<I64 N="ci">5</I64>');
    expect(xml).toContain(`<ToString>${method}</ToString><I32>${id}</I32>`);
    expect(xml).toContain(mr);
    expect(decodeHostResponse(xml)).toMatchObject({ callId: 5n, methodId: id, methodName: method });
  });

  it('a PSCredential answer: TN PSCredential, ToString, Props UserName and SS Password', () => {
    const xml = hostResponseBody(3n, 24, 'PromptForCredential1', {
      mr: encodeHostReturn({ kind: 'credential', userName: 'u', password: 'p' }, plain),
    });
    expect(xml).toContain(
      '<Obj N="mr" RefId="2"><TN RefId="1"><T>System.Management.Automation.PSCredential</T><T>System.Object</T></TN><ToString>System.Management.Automation.PSCredential</ToString><Props><S N="UserName">u</S>' +
        `<SS N="Password">${plain('p')}</SS></Props></Obj>`,
    );
    const r = decodeHostResponse(xml).result as PSObject;
    expect((r.get('Password') as PSPrimitive).tag).toBe('SS');
  });

  it('a Prompt answer is a dictionary of field name to value; multiple choice is a collection of Int32', () => {
    const xml = hostResponseBody(4n, 23, 'Prompt', {
      mr: encodeHostReturn(
        {
          kind: 'promptResult',
          entries: [
            ['Name', { kind: 'string', value: 'n' }],
            ['Pw', { kind: 'secureString', value: 's' }],
          ],
        },
        plain,
      ),
    });
    const dict = (decodeHostResponse(xml).result as PSObject).baseValue as PSDictionary;
    expect(dict).toBeInstanceOf(PSDictionary);
    expect(dict.get('Name')).toBe('n');
    expect(dict.get('Pw')).toEqual(new PSPrimitive('SS', plain('s')));
    const multi = hostResponseBody(6n, 56, 'PromptForChoiceMultipleSelection', {
      mr: encodeHostReturn({ kind: 'int32Collection', values: [0, 2] }, plain),
    });
    expect(multi).toContain('<LST><I32>0</I32><I32>2</I32></LST>');
  });

  it('an error answer is `me`: an ErrorRecord, FQEID RemoteHostExecutionException, HostException', () => {
    const xml = hostResponseBody(7n, 11, 'ReadLine', { me: hostErrorRecord('no console') });
    expect(keys(xml)).toEqual(['ci', 'mi', 'me']);
    const info = decodeErrorRecord(decodeHostResponse(xml).error);
    expect(info).toMatchObject({
      message: 'no console',
      fullyQualifiedErrorId: 'RemoteHostExecutionException',
      exceptionTypeName: 'System.Management.Automation.Host.HostException',
      categoryInfo: 'NotSpecified: (:) [], HostException',
    });
  });
});

describe('server -> client records read back', () => {
  it('ErrorRecord: message, FQEID, category and the CategoryInfo line', () => {
    const spec = {
      message: 'gone',
      fullyQualifiedErrorId: 'PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand',
      category: 'ObjectNotFound',
      activity: 'Get-Item',
      reason: 'ItemNotFoundException',
      targetName: 'nope',
      targetType: 'String',
      recommendedAction: 'fix it',
    } as const;
    const rec = decodeErrorRecord(deserializeClixml(serializeClixml(errorRecordObject(spec))));
    expect(rec).toMatchObject({
      message: 'gone',
      fullyQualifiedErrorId: 'PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand',
      category: 'ObjectNotFound',
      categoryInfo: 'ObjectNotFound: (nope:String) [Get-Item], ItemNotFoundException',
      targetName: 'nope',
      reason: 'ItemNotFoundException',
      activity: 'Get-Item',
      exceptionTypeName: 'System.Management.Automation.RuntimeException',
      recommendedAction: 'fix it',
    });
    // ErrorRecord.ToString(): ErrorDetails.Message wins over the exception's message.
    const detailed = decodeErrorRecord(errorRecordObject({ ...spec, errorDetailsMessage: 'details' }));
    expect(detailed.message).toBe('details');
    expect(detailed.errorDetailsMessage).toBe('details');
  });

  it('ProgressRecord and InformationRecord', () => {
    expect(
      decodeProgressRecord(
        progressRecordObject({
          activity: 'A',
          activityId: 2,
          parentActivityId: 1,
          recordType: 'Completed',
          secondsRemaining: 5,
        }),
      ),
    ).toEqual({
      activity: 'A',
      activityId: 2,
      statusDescription: 'Processing',
      currentOperation: null,
      parentActivityId: 1,
      percentComplete: -1,
      secondsRemaining: 5,
      recordType: 'Completed',
    });
    const host = new PSObject({
      typeNames: ['System.Management.Automation.HostInformationMessage', 'System.Object'],
      extended: [
        ['Message', 'from Write-Host'],
        ['NoNewLine', false],
      ],
    });
    const info = decodeInformationRecord(
      informationRecordObject({
        messageData: host,
        tags: ['PSHOST', 'FORWARDED'],
        processId: 77,
        computer: 'box',
      }),
    );
    expect(info).toMatchObject({
      text: 'from Write-Host',
      tags: ['PSHOST', 'FORWARDED'],
      processId: 77,
      computer: 'box',
    });
  });
});
