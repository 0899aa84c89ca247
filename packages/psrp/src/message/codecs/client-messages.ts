import { deserializeClixml } from '../../clixml/deserialize.ts';
import { serializeClixml } from '../../clixml/serialize.ts';
import { PSList, PSObject, PSPrimitive, type PSValue } from '../../clixml/value.ts';
import { PsrpProtocolError } from '../../errors.ts';
import { hostMethodName } from '../../host/host-method.ts';
import { CLIENT_PROTOCOL_VERSION, PS_VERSION, SERIALIZATION_VERSION } from '../../protocol-version.ts';
import {
  asBigInt,
  asNumber,
  asString,
  enumValue,
  pipelineResultTypes,
  psEnum,
  remoteHostMethodId,
} from './enum.ts';
import { type DecodedHostInfo, decodeHostInfo, type HostDefaultData, hostInfo } from './host-info.ts';

/*
 * The messages a client sends (MS-PSRP 2.2.2, client to server): the encoders the client engine uses, and the
 * decoders a server reads them back with (the in-memory fake server and the codec tests).
 */

// ---- encoders ------------------------------------------------------------------------------------------

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

/** RUNSPACEPOOL_HOST_RESPONSE / PIPELINE_HOST_RESPONSE (MS-PSRP 2.2.2.16): ci, mi, then mr or me. */
export function hostResponseBody(
  callId: bigint,
  methodId: number,
  methodName: string,
  result: { mr: PSValue } | { me: PSValue },
): string {
  const props: Array<[string, PSValue]> = [
    ['ci', new PSPrimitive('I64', callId)],
    ['mi', remoteHostMethodId(methodId, methodName)],
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

// ---- decoders ------------------------------------------------------------------------------------------

function list(v: PSValue | undefined): PSValue[] {
  if (v instanceof PSObject && v.baseValue instanceof PSList) return v.baseValue.items;
  return [];
}

function parse(body: string): PSObject {
  const v = deserializeClixml(body);
  if (!(v instanceof PSObject))
    throw new PsrpProtocolError('PsrpMalformedMessage', 'the body is not an object');
  return v;
}

function callIdOf(v: PSValue | undefined): bigint {
  const b = asBigInt(v);
  if (b !== undefined) return b;
  const n = asNumber(v);
  if (n === undefined) throw new PsrpProtocolError('PsrpMalformedMessage', 'a message without a call id');
  return BigInt(n);
}

export interface SessionCapabilityInfo {
  readonly protocolVersion: string;
  readonly psVersion: string;
  readonly serializationVersion: string;
  /** Property names in wire order (the tests check PowerShell's order). */
  readonly propertyOrder: string[];
}

export function decodeSessionCapability(body: string): SessionCapabilityInfo {
  const o = parse(body);
  return {
    protocolVersion: asString(o.get('protocolversion')) ?? '',
    psVersion: asString(o.get('PSVersion')) ?? '',
    serializationVersion: asString(o.get('SerializationVersion')) ?? '',
    propertyOrder: [...o.extended.keys()],
  };
}

export interface InitRunspacePoolInfo {
  readonly minRunspaces: number;
  readonly maxRunspaces: number;
  readonly threadOptions: number;
  readonly apartmentState: number;
  readonly hostInfo: DecodedHostInfo;
  readonly applicationArguments: PSValue;
}

export function decodeInitRunspacePool(body: string): InitRunspacePoolInfo {
  const o = parse(body);
  return {
    minRunspaces: asNumber(o.get('MinRunspaces')) ?? 1,
    maxRunspaces: asNumber(o.get('MaxRunspaces')) ?? 1,
    threadOptions: enumValue(o.get('PSThreadOptions')) ?? 0,
    apartmentState: enumValue(o.get('ApartmentState')) ?? 2,
    hostInfo: decodeHostInfo(o.get('HostInfo')),
    applicationArguments: o.get('ApplicationArguments') ?? null,
  };
}

function decodeCommand(v: PSValue): CommandSpec {
  const c = v instanceof PSObject ? v : new PSObject();
  const ulc = c.get('UseLocalScope');
  const merge = (name: string) => enumValue(c.get(name)) ?? 0;
  return {
    command: asString(c.get('Cmd')) ?? '',
    isScript: c.get('IsScript') === true,
    useLocalScope: typeof ulc === 'boolean' ? ulc : null,
    parameters: list(c.get('Args')).map((a) => {
      const p = a instanceof PSObject ? a : new PSObject();
      const n = p.get('N');
      return { name: n === null || n === undefined ? null : String(n), value: p.get('V') ?? null };
    }),
    mergeMyResult: merge('MergeMyResult'),
    mergeToResult: merge('MergeToResult'),
    mergePreviousResults: merge('MergePreviousResults'),
    mergeError: merge('MergeError'),
    mergeWarning: merge('MergeWarning'),
    mergeVerbose: merge('MergeVerbose'),
    mergeDebug: merge('MergeDebug'),
    mergeInformation: merge('MergeInformation'),
  };
}

/** CREATE_PIPELINE back into the PipelineSpec it was built from (what a server reads). */
export function decodeCreatePipeline(body: string): PipelineSpec & { readonly hostInfo: DecodedHostInfo } {
  const o = parse(body);
  const ps = o.get('PowerShell');
  const p = ps instanceof PSObject ? ps : new PSObject();
  const extra = list(p.get('ExtraCmds')).map((s) =>
    list(s instanceof PSObject ? s.get('Cmds') : undefined).map(decodeCommand),
  );
  const history = p.get('History');
  return {
    commands: list(p.get('Cmds')).map(decodeCommand),
    ...(extra.length > 0 ? { extraStatements: extra } : {}),
    noInput: o.get('NoInput') === true,
    addToHistory: o.get('AddToHistory') === true,
    history: history === null || history === undefined ? null : String(history),
    isNested: o.get('IsNested') === true,
    remoteStreamOptions: enumValue(o.get('RemoteStreamOptions')) ?? 0,
    useRunspaceHost: decodeHostInfo(o.get('HostInfo')).useRunspaceHost,
    hostInfo: decodeHostInfo(o.get('HostInfo')),
  };
}

export interface HostResponseInfo {
  readonly callId: bigint;
  readonly methodId: number;
  readonly methodName: string;
  /** `mr`, when the call returned. */
  readonly result?: PSValue;
  /** `me`, when the call failed: the ErrorRecord. */
  readonly error?: PSObject;
}

/** RUNSPACEPOOL_HOST_RESPONSE / PIPELINE_HOST_RESPONSE (MS-PSRP 2.2.2.16). */
export function decodeHostResponse(body: string): HostResponseInfo {
  const o = parse(body);
  const mi = o.get('mi');
  const methodId = enumValue(mi) ?? -1;
  const me = o.get('me');
  return {
    callId: callIdOf(o.get('ci')),
    methodId,
    methodName: mi instanceof PSObject && mi.toStringValue ? mi.toStringValue : hostMethodName(methodId),
    ...(o.has('mr') || o.extended.has('mr') ? { result: o.extended.get('mr') ?? null } : {}),
    ...(me instanceof PSObject ? { error: me } : {}),
  };
}

/** PUBLIC_KEY (MS-PSRP 2.2.2.3): the base64 PUBLICKEYBLOB. */
export function decodePublicKey(body: string): string {
  const b64 = asString(parse(body).get('PublicKey'));
  if (!b64) throw new PsrpProtocolError('PsrpMalformedMessage', 'PUBLIC_KEY without a key');
  return b64;
}

export interface CommandMetadataRequest {
  readonly names: string[];
  readonly commandType: number;
}

/** GET_COMMAND_METADATA (MS-PSRP 2.2.2.14). */
export function decodeGetCommandMetadata(body: string): CommandMetadataRequest {
  const o = parse(body);
  return {
    names: list(o.get('Name')).map((n) => String(n)),
    commandType: enumValue(o.get('CommandType')) ?? 0,
  };
}

/** The call id of SET_MAX/MIN_RUNSPACES, GET_AVAILABLE_RUNSPACES and RESET_RUNSPACE_STATE. */
export function decodeCallId(body: string): bigint {
  return callIdOf(parse(body).get('ci'));
}
