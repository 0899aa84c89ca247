import { serializeClixml } from '../../clixml/serialize.ts';
import { PSDictionary, PSList, PSObject, PSPrimitive, type PSValue } from '../../clixml/value.ts';
import { CLIENT_PROTOCOL_VERSION, PS_VERSION, SERIALIZATION_VERSION } from '../../protocol-version.ts';
import { pipelineResultTypes, psEnum } from './enum.ts';

/** The RawUI values a client reports at open (protocols.md 1.4 hostDefaultData keys 0..9). */
export interface HostDefaultData {
  readonly foregroundColor: number;
  readonly backgroundColor: number;
  readonly cursorPosition: { readonly x: number; readonly y: number };
  readonly windowPosition: { readonly x: number; readonly y: number };
  readonly cursorSize: number;
  readonly bufferSize: { readonly width: number; readonly height: number };
  readonly windowSize: { readonly width: number; readonly height: number };
  readonly maxWindowSize: { readonly width: number; readonly height: number };
  readonly maxPhysicalWindowSize: { readonly width: number; readonly height: number };
  readonly windowTitle: string;
}

const CONSOLE_COLORS = [
  'Black',
  'DarkBlue',
  'DarkGreen',
  'DarkCyan',
  'DarkRed',
  'DarkMagenta',
  'DarkYellow',
  'Gray',
  'DarkGray',
  'Blue',
  'Green',
  'Cyan',
  'Red',
  'Magenta',
  'Yellow',
  'White',
];

export function consoleColor(v: number): PSObject {
  return psEnum('System.ConsoleColor', CONSOLE_COLORS[v] ?? String(v), v);
}

export function sizeObject(s: { width: number; height: number }): PSObject {
  return new PSObject({
    extended: [
      ['width', s.width],
      ['height', s.height],
    ],
  });
}

export function coordinatesObject(c: { x: number; y: number }): PSObject {
  return new PSObject({
    extended: [
      ['x', c.x],
      ['y', c.y],
    ],
  });
}

const typed = (t: string, v: PSValue) =>
  new PSObject({
    extended: [
      ['T', t],
      ['V', v],
    ],
  });

/** HostInfo (MS-PSRP 2.2.3.14; RemoteSessionCapability.cs): the field names keep PowerShell's underscores. */
export function hostInfo(
  host: HostDefaultData | null | undefined,
  useRunspaceHost: boolean,
  hasUi = true,
): PSObject {
  const props: Array<[string, PSValue]> = [];
  if (host) {
    const SIZE = 'System.Management.Automation.Host.Size';
    const COORD = 'System.Management.Automation.Host.Coordinates';
    const data = new PSDictionary([
      [9, typed('System.String', host.windowTitle)],
      [8, typed(SIZE, sizeObject(host.maxPhysicalWindowSize))],
      [7, typed(SIZE, sizeObject(host.maxWindowSize))],
      [6, typed(SIZE, sizeObject(host.windowSize))],
      [5, typed(SIZE, sizeObject(host.bufferSize))],
      [4, typed('System.Int32', host.cursorSize)],
      [3, typed(COORD, coordinatesObject(host.windowPosition))],
      [2, typed(COORD, coordinatesObject(host.cursorPosition))],
      [1, typed('System.ConsoleColor', host.backgroundColor)],
      [0, typed('System.ConsoleColor', host.foregroundColor)],
    ]);
    const dataObj = new PSObject({
      typeNames: ['System.Collections.Hashtable', 'System.Object'],
      baseValue: data,
    });
    props.push(['_hostDefaultData', new PSObject({ extended: [['data', dataObj]] })]);
  }
  // A host without RawUI still has a UI: the server then builds its UI proxy, so Write/Prompt host calls work
  // (ServerRemoteHost.cs); only a null UI leaves the remote Out-Default and Read-Host nowhere to go.
  props.push(
    ['_isHostNull', !hasUi],
    ['_isHostUINull', !hasUi],
    ['_isHostRawUINull', !host],
    ['_useRunspaceHost', useRunspaceHost],
  );
  return new PSObject({ extended: props });
}

export function sessionCapabilityBody(): string {
  return serializeClixml(
    new PSObject({
      extended: [
        ['protocolversion', new PSPrimitive('Version', CLIENT_PROTOCOL_VERSION)],
        ['PSVersion', new PSPrimitive('Version', PS_VERSION)],
        ['SerializationVersion', new PSPrimitive('Version', SERIALIZATION_VERSION)],
      ],
    }),
  );
}

export interface InitRunspacePoolOptions {
  readonly minRunspaces: number;
  readonly maxRunspaces: number;
  readonly host: HostDefaultData | null | undefined;
  /** False: no host at all (the server gets no UI). */
  readonly hasUi?: boolean;
  readonly applicationArguments?: PSValue;
}

const APARTMENT_UNKNOWN = () => psEnum('System.Threading.ApartmentState', 'Unknown', 2);

/** INIT_RUNSPACEPOOL (MS-PSRP 2.2.2.2), properties in the order PowerShell writes them. */
export function initRunspacePoolBody(o: InitRunspacePoolOptions): string {
  return serializeClixml(
    new PSObject({
      extended: [
        ['MinRunspaces', o.minRunspaces],
        ['MaxRunspaces', o.maxRunspaces],
        ['PSThreadOptions', psEnum('System.Management.Automation.Runspaces.PSThreadOptions', 'Default', 0)],
        ['ApartmentState', APARTMENT_UNKNOWN()],
        ['ApplicationArguments', o.applicationArguments ?? null],
        ['HostInfo', hostInfo(o.host, false, o.hasUi ?? true)],
      ],
    }),
  );
}

export interface CommandSpec {
  readonly command: string;
  readonly isScript?: boolean;
  readonly useLocalScope?: boolean | null;
  readonly parameters?: ReadonlyArray<{ readonly name: string | null; readonly value: PSValue }>;
  readonly mergeMyResult?: number;
  readonly mergeToResult?: number;
  readonly mergePreviousResults?: number;
  readonly mergeError?: number;
  readonly mergeWarning?: number;
  readonly mergeVerbose?: number;
  readonly mergeDebug?: number;
  readonly mergeInformation?: number;
}

export interface PipelineSpec {
  readonly commands: readonly CommandSpec[];
  /** Further statements (PowerShell's ExtraCmds), each its own command list. */
  readonly extraStatements?: ReadonlyArray<readonly CommandSpec[]>;
  readonly noInput?: boolean;
  readonly addToHistory?: boolean;
  readonly history?: string | null;
  readonly isNested?: boolean;
  /** RemoteStreamOptions; 0 None, 15 AddInvocationInfo. */
  readonly remoteStreamOptions?: number;
  readonly useRunspaceHost?: boolean;
  /**
   * The host's RawUI values now: sent as this pipeline's own HostInfo (`_useRunspaceHost` false), so the server's
   * `$Host.UI.RawUI` getters answer with them instead of the values cached when the pool opened (a resized
   * terminal shows at the next command). Without it the pipeline uses the pool's host, as PowerShell's
   * Enter-PSSession does.
   */
  readonly host?: HostDefaultData;
}

const PSOBJECT_LIST = [
  'System.Collections.Generic.List`1[[System.Management.Automation.PSObject, System.Management.Automation, Version=3.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35]]',
  'System.Object',
];

function commandObject(c: CommandSpec): PSObject {
  const args = (c.parameters ?? []).map(
    (p) =>
      new PSObject({
        extended: [
          ['N', p.name],
          ['V', p.value],
        ],
      }),
  );
  return new PSObject({
    extended: [
      ['Cmd', c.command],
      ['IsScript', c.isScript ?? false],
      ['UseLocalScope', c.useLocalScope ?? null],
      ['MergeMyResult', pipelineResultTypes(c.mergeMyResult ?? 0)],
      ['MergeToResult', pipelineResultTypes(c.mergeToResult ?? 0)],
      ['MergePreviousResults', pipelineResultTypes(c.mergePreviousResults ?? 0)],
      ['MergeError', pipelineResultTypes(c.mergeError ?? 0)],
      ['MergeWarning', pipelineResultTypes(c.mergeWarning ?? 0)],
      ['MergeVerbose', pipelineResultTypes(c.mergeVerbose ?? 0)],
      ['MergeDebug', pipelineResultTypes(c.mergeDebug ?? 0)],
      ['MergeInformation', pipelineResultTypes(c.mergeInformation ?? 0)],
      ['Args', new PSObject({ typeNames: PSOBJECT_LIST, baseValue: new PSList('LST', args) })],
    ],
  });
}

const cmdList = (cmds: readonly CommandSpec[]) =>
  new PSObject({ typeNames: PSOBJECT_LIST, baseValue: new PSList('LST', cmds.map(commandObject)) });

/** CREATE_PIPELINE (MS-PSRP 2.2.2.10; EncodeAndDecode.cs, PowerShell.cs ToPSObjectForRemoting). */
export function createPipelineBody(spec: PipelineSpec): string {
  // PowerShell.ToPSObjectForRemoting: ExtraCmds (when batching) comes first, then Cmds, IsNested, History, ...
  const psProps: Array<[string, PSValue]> = [];
  if (spec.extraStatements && spec.extraStatements.length > 0) {
    psProps.push([
      'ExtraCmds',
      new PSObject({
        typeNames: PSOBJECT_LIST,
        baseValue: new PSList(
          'LST',
          spec.extraStatements.map((s) => new PSObject({ extended: [['Cmds', cmdList(s)]] })),
        ),
      }),
    ]);
  }
  psProps.push(
    ['Cmds', cmdList(spec.commands)],
    ['IsNested', spec.isNested ?? false],
    ['History', spec.history ?? null],
    ['RedirectShellErrorOutputPipe', true],
  );
  const rso = spec.remoteStreamOptions ?? 0;
  return serializeClixml(
    new PSObject({
      // EncodeAndDecode.cs GenerateCreatePowerShell order: PowerShell, NoInput, ApartmentState,
      // RemoteStreamOptions, AddToHistory, HostInfo, IsNested.
      extended: [
        ['PowerShell', new PSObject({ extended: psProps })],
        ['NoInput', spec.noInput ?? true],
        ['ApartmentState', APARTMENT_UNKNOWN()],
        [
          'RemoteStreamOptions',
          psEnum(
            'System.Management.Automation.RemoteStreamOptions',
            rso === 15 ? 'AddInvocationInfo' : rso === 0 ? 'None' : String(rso),
            rso,
          ),
        ],
        ['AddToHistory', spec.addToHistory ?? false],
        [
          'HostInfo',
          spec.host
            ? hostInfo(spec.host, false, true)
            : hostInfo(undefined, spec.useRunspaceHost ?? true, false),
        ],
        ['IsNested', spec.isNested ?? false],
      ],
    }),
  );
}

// System.Management.Automation.CommandTypes flags, in the order .NET prints a [Flags] enum.
const COMMAND_TYPES: ReadonlyArray<readonly [string, number]> = [
  ['Alias', 1],
  ['Function', 2],
  ['Filter', 4],
  ['Cmdlet', 8],
  ['ExternalScript', 16],
  ['Application', 32],
  ['Script', 64],
  ['Configuration', 256],
];

/** The ToString of a CommandTypes value: `All` for 383, else the set flags joined by ", " (.NET Enum.ToString). */
export function commandTypesName(v: number): string {
  if ((v & 383) === 383) return 'All'; // PS 7: every type but the removed Workflow (128)
  const names = COMMAND_TYPES.filter(([, bit]) => (v & bit) !== 0).map(([n]) => n);
  return names.length > 0 ? names.join(', ') : String(v);
}

/** GET_COMMAND_METADATA (MS-PSRP 2.2.2.14). */
export function getCommandMetadataBody(names: readonly string[], commandType: number): string {
  return serializeClixml(
    new PSObject({
      extended: [
        [
          'Name',
          new PSObject({
            typeNames: ['System.String[]', 'System.Array', 'System.Object'],
            baseValue: new PSList('LST', [...names]),
          }),
        ],
        [
          'CommandType',
          psEnum('System.Management.Automation.CommandTypes', commandTypesName(commandType), commandType),
        ],
        ['Namespace', null],
        ['FullyQualifiedModule', null],
        ['ArgumentList', null],
      ],
    }),
  );
}

export function publicKeyBody(b64: string): string {
  return serializeClixml(new PSObject({ extended: [['PublicKey', b64]] }));
}

const HOST_METHOD_ID = [
  'System.Management.Automation.Remoting.RemoteHostMethodId',
  'System.Enum',
  'System.ValueType',
  'System.Object',
];

/** RUNSPACEPOOL_HOST_RESPONSE / PIPELINE_HOST_RESPONSE (MS-PSRP 2.2.2.16): ci, mi, then mr or me. */
export function hostResponseBody(
  callId: bigint,
  methodId: number,
  methodName: string,
  result: { mr: PSValue } | { me: PSValue },
): string {
  const props: Array<[string, PSValue]> = [
    ['ci', new PSPrimitive('I64', callId)],
    ['mi', new PSObject({ typeNames: HOST_METHOD_ID, toStringValue: methodName, baseValue: methodId })],
  ];
  if ('mr' in result) props.push(['mr', result.mr]);
  else props.push(['me', result.me]);
  return serializeClixml(new PSObject({ extended: props }));
}

/** SET_MAX_RUNSPACES / SET_MIN_RUNSPACES (MS-PSRP 2.2.2.6-7): the count and a call id for the reply. */
export function setRunspacesBody(
  which: 'MaxRunspaces' | 'MinRunspaces',
  count: number,
  callId: bigint,
): string {
  return serializeClixml(
    new PSObject({
      extended: [
        [which, count],
        ['ci', new PSPrimitive('I64', callId)],
      ],
    }),
  );
}

/** GET_AVAILABLE_RUNSPACES (MS-PSRP 2.2.2.8). */
export function getAvailableRunspacesBody(callId: bigint): string {
  return serializeClixml(new PSObject({ extended: [['ci', new PSPrimitive('I64', callId)]] }));
}

/** RESET_RUNSPACE_STATE (MS-PSRP 2.2.2.31; protocol 2.3 and later). */
export function resetRunspaceStateBody(callId: bigint): string {
  return serializeClixml(new PSObject({ extended: [['ci', new PSPrimitive('I64', callId)]] }));
}

/** CONNECT_RUNSPACEPOOL (MS-PSRP 2.2.2.29): optional min/max, else an empty object. */
export function connectRunspacePoolBody(minRunspaces?: number, maxRunspaces?: number): string {
  const props: Array<[string, PSValue]> = [];
  if (minRunspaces !== undefined) props.push(['MinRunspaces', minRunspaces]);
  if (maxRunspaces !== undefined) props.push(['MaxRunspaces', maxRunspaces]);
  return serializeClixml(new PSObject({ extended: props }));
}
