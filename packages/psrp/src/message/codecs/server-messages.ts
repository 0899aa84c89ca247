import { deserializeClixml } from '../../clixml/deserialize.ts';
import { serializeClixml } from '../../clixml/serialize.ts';
import { PSDictionary, PSList, PSObject, PSPrimitive, type PSValue } from '../../clixml/value.ts';
import { PsrpProtocolError } from '../../errors.ts';
import { hostMethodName } from '../../host/host-method.ts';
import { INVOCATION_STATES, type PSInvocationState } from '../../pipeline/transitions.ts';
import { ERROR_CATEGORY_NAMES } from '../../records/records.ts';
import { RUNSPACE_POOL_STATES, type RunspacePoolState } from '../../runspace-pool/transitions.ts';
import type { CommandSpec, PipelineSpec } from './client-messages.ts';
import { asNumber, asString, enumValue, psEnum } from './enum.ts';

/*
 * The server's half of the message codecs (MS-PSRP 2.2.2): encoders for server->client messages and decoders
 * for client->server ones. The client engine never needs them; the in-memory fake server and the codec tests do.
 */

const obj = (props: Array<[string, PSValue]>) => new PSObject({ extended: props });

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
  if (v instanceof PSPrimitive && typeof v.value === 'bigint') return v.value;
  const n = asNumber(v);
  if (n === undefined) throw new PsrpProtocolError('PsrpMalformedMessage', 'a message without a call id');
  return BigInt(n);
}

// ---- server -> client encoders ---------------------------------------------------------------------------

/** SESSION_CAPABILITY as a server sends it (MS-PSRP 2.2.2.1). */
export function serverSessionCapabilityBody(protocolVersion: string, psVersion = '2.0'): string {
  return serializeClixml(
    obj([
      ['protocolversion', new PSPrimitive('Version', protocolVersion)],
      ['PSVersion', new PSPrimitive('Version', psVersion)],
      ['SerializationVersion', new PSPrimitive('Version', '1.1.0.1')],
    ]),
  );
}

/** APPLICATION_PRIVATE_DATA (MS-PSRP 2.2.2.13): a PSPrimitiveDictionary named ApplicationPrivateData. */
export function applicationPrivateDataBody(data: PSValue): string {
  return serializeClixml(obj([['ApplicationPrivateData', data]]));
}

/** RUNSPACEPOOL_STATE (MS-PSRP 2.2.2.9): the state index and, on failure, ExceptionAsErrorRecord. */
export function runspacePoolStateBody(state: RunspacePoolState, error?: PSObject): string {
  const props: Array<[string, PSValue]> = [['RunspaceState', RUNSPACE_POOL_STATES.indexOf(state)]];
  if (error) props.push(['ExceptionAsErrorRecord', error]);
  return serializeClixml(obj(props));
}

/** PIPELINE_STATE (MS-PSRP 2.2.2.21). */
export function pipelineStateBody(state: PSInvocationState, error?: PSObject): string {
  const props: Array<[string, PSValue]> = [['PipelineState', INVOCATION_STATES.indexOf(state)]];
  if (error) props.push(['ExceptionAsErrorRecord', error]);
  return serializeClixml(obj(props));
}

export interface ErrorRecordSpec {
  readonly message: string;
  readonly fullyQualifiedErrorId: string;
  readonly category?: (typeof ERROR_CATEGORY_NAMES)[number];
  readonly activity?: string;
  readonly reason?: string;
  readonly targetName?: string;
  readonly targetType?: string;
  readonly exceptionTypeNames?: string[];
  readonly targetObject?: PSValue;
  readonly errorDetailsMessage?: string;
  readonly recommendedAction?: string;
  readonly positionMessage?: string;
  readonly scriptStackTrace?: string;
}

/** A serialized ErrorRecord as PowerShell writes one (MS-PSRP 2.2.3.15; SerializeExtendedInfo false). */
export function errorRecordObject(e: ErrorRecordSpec): PSObject {
  const category = e.category ?? 'NotSpecified';
  const reason = e.reason ?? 'RuntimeException';
  const exception = new PSObject({
    typeNames: (
      e.exceptionTypeNames ?? [
        'System.Management.Automation.RuntimeException',
        'System.Exception',
        'System.Object',
      ]
    ).map((t) => `Deserialized.${t}`),
    toStringValue: e.message,
    adapted: [
      ['Message', e.message],
      ['HResult', -2146233087],
    ],
  });
  const props: Array<[string, PSValue]> = [
    ['Exception', exception],
    ['TargetObject', e.targetObject ?? null],
    ['FullyQualifiedErrorId', e.fullyQualifiedErrorId],
    ['InvocationInfo', null],
    ['ErrorCategory_Category', ERROR_CATEGORY_NAMES.indexOf(category)],
    ['ErrorCategory_Activity', e.activity ?? ''],
    ['ErrorCategory_Reason', reason],
    ['ErrorCategory_TargetName', e.targetName ?? ''],
    ['ErrorCategory_TargetType', e.targetType ?? ''],
    [
      'ErrorCategory_Message',
      `${category}: (${e.targetName ?? ''}:${e.targetType ?? ''}) [${e.activity ?? ''}], ${reason}`,
    ],
  ];
  if (e.errorDetailsMessage !== undefined) props.push(['ErrorDetails_Message', e.errorDetailsMessage]);
  if (e.recommendedAction !== undefined) props.push(['ErrorDetails_RecommendedAction', e.recommendedAction]);
  if (e.scriptStackTrace !== undefined) props.push(['ErrorDetails_ScriptStackTrace', e.scriptStackTrace]);
  if (e.positionMessage !== undefined) props.push(['InvocationInfo_PositionMessage', e.positionMessage]);
  props.push(['SerializeExtendedInfo', false]);
  return new PSObject({
    typeNames: ['Deserialized.System.Management.Automation.ErrorRecord', 'Deserialized.System.Object'],
    toStringValue: e.message,
    extended: props,
  });
}

/** DEBUG_RECORD / VERBOSE_RECORD / WARNING_RECORD (MS-PSRP 2.2.3.16). */
export function informationalRecordBody(message: string, typeName: string): string {
  return serializeClixml(
    new PSObject({
      typeNames: [typeName, 'System.Management.Automation.InformationalRecord', 'System.Object'],
      toStringValue: message,
      extended: [
        ['InformationalRecord_Message', message],
        ['InformationalRecord_SerializeInvocationInfo', false],
      ],
    }),
  );
}

export interface ProgressRecordSpec {
  readonly activity: string;
  readonly activityId?: number;
  readonly statusDescription?: string;
  readonly currentOperation?: string | null;
  readonly parentActivityId?: number;
  readonly percentComplete?: number;
  readonly secondsRemaining?: number;
  readonly recordType?: 'Processing' | 'Completed';
}

/** PROGRESS_RECORD (MS-PSRP 2.2.5.1.25); also WriteProgress's second host-call argument. */
export function progressRecordObject(p: ProgressRecordSpec): PSObject {
  const completed = p.recordType === 'Completed';
  return obj([
    ['Activity', p.activity],
    ['ActivityId', p.activityId ?? 0],
    ['StatusDescription', p.statusDescription ?? 'Processing'],
    ['CurrentOperation', p.currentOperation ?? null],
    ['ParentActivityId', p.parentActivityId ?? -1],
    ['PercentComplete', p.percentComplete ?? -1],
    ['SecondsRemaining', p.secondsRemaining ?? -1],
    [
      'Type',
      psEnum(
        'System.Management.Automation.ProgressRecordType',
        completed ? 'Completed' : 'Processing',
        completed ? 1 : 0,
      ),
    ],
  ]);
}

export interface InformationRecordSpec {
  readonly messageData: PSValue;
  readonly source?: string;
  readonly tags?: string[];
  readonly timeGenerated?: string;
  readonly user?: string;
  readonly computer?: string;
  readonly processId?: number;
}

/** INFORMATION_RECORD (MS-PSRP 2.2.5.1.26). */
export function informationRecordObject(r: InformationRecordSpec): PSObject {
  return new PSObject({
    typeNames: ['System.Management.Automation.InformationRecord', 'System.Object'],
    toStringValue: String(r.messageData),
    extended: [
      ['MessageData', r.messageData],
      ['Source', r.source ?? ''],
      ['TimeGenerated', new PSPrimitive('DT', r.timeGenerated ?? '2026-01-01T00:00:00.0000000+00:00')],
      [
        'Tags',
        new PSObject({
          typeNames: ['System.Collections.Generic.List`1[[System.String]]', 'System.Object'],
          baseValue: new PSList('LST', [...(r.tags ?? [])]),
        }),
      ],
      ['User', r.user ?? 'user'],
      ['Computer', r.computer ?? 'localhost'],
      ['ProcessId', new PSPrimitive('U32', r.processId ?? 1)],
      ['NativeThreadId', new PSPrimitive('U32', 1)],
      ['ManagedThreadId', new PSPrimitive('U32', 1)],
    ],
  });
}

const HOST_METHOD_ID_TYPES = [
  'System.Management.Automation.Remoting.RemoteHostMethodId',
  'System.Enum',
  'System.ValueType',
  'System.Object',
];

/** RUNSPACEPOOL_HOST_CALL / PIPELINE_HOST_CALL (MS-PSRP 2.2.2.15, 2.2.2.27): ci, mi, mp (an ArrayList). */
export function hostCallBody(callId: bigint, methodId: number, args: readonly PSValue[]): string {
  return serializeClixml(
    obj([
      ['ci', new PSPrimitive('I64', callId)],
      [
        'mi',
        new PSObject({
          typeNames: HOST_METHOD_ID_TYPES,
          toStringValue: hostMethodName(methodId),
          baseValue: methodId,
        }),
      ],
      [
        'mp',
        new PSObject({
          typeNames: ['System.Collections.ArrayList', 'System.Object'],
          baseValue: new PSList('LST', [...args]),
        }),
      ],
    ]),
  );
}

/** ENCRYPTED_SESSION_KEY (MS-PSRP 2.2.2.4). */
export function encryptedSessionKeyBody(b64: string): string {
  return serializeClixml(obj([['EncryptedSessionKey', b64]]));
}

/** PUBLIC_KEY_REQUEST (MS-PSRP 2.2.2.5): an empty string. */
export function publicKeyRequestBody(): string {
  return serializeClixml('');
}

/** RUNSPACE_AVAILABILITY (MS-PSRP 2.2.2.8): the answer and the call id of the request. */
export function runspaceAvailabilityBody(callId: bigint, value: boolean | bigint): string {
  return serializeClixml(
    obj([
      ['SetMinMaxRunspacesResponse', typeof value === 'bigint' ? new PSPrimitive('I64', value) : value],
      ['ci', new PSPrimitive('I64', callId)],
    ]),
  );
}

/** RUNSPACEPOOL_INIT_DATA (MS-PSRP 2.2.2.30). */
export function runspacePoolInitDataBody(minRunspaces: number, maxRunspaces: number): string {
  return serializeClixml(
    obj([
      ['MinRunspaces', minRunspaces],
      ['MaxRunspaces', maxRunspaces],
    ]),
  );
}

/** USER_EVENT (MS-PSRP 2.2.2.12): a PSEventArgs with the event's properties. */
export function userEventBody(
  eventIdentifier: number,
  sourceIdentifier: string,
  messageData: PSValue,
): string {
  return serializeClixml(
    new PSObject({
      typeNames: ['System.Management.Automation.PSEventArgs', 'System.Object'],
      extended: [
        ['PSEventArgs.EventIdentifier', eventIdentifier],
        ['PSEventArgs.SourceIdentifier', sourceIdentifier],
        ['PSEventArgs.TimeGenerated', new PSPrimitive('DT', '2026-01-01T00:00:00.0000000+00:00')],
        ['PSEventArgs.Sender', null],
        ['PSEventArgs.SourceArgs', null],
        ['PSEventArgs.MessageData', messageData],
        ['PSEventArgs.ComputerName', 'localhost'],
        ['PSEventArgs.RunspaceId', new PSPrimitive('G', '00000000-0000-0000-0000-000000000000')],
      ],
    }),
  );
}

// ---- client -> server decoders ---------------------------------------------------------------------------

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

export interface DecodedHostInfo {
  readonly isHostNull: boolean;
  readonly isHostUINull: boolean;
  readonly isHostRawUINull: boolean;
  readonly useRunspaceHost: boolean;
  /** hostDefaultData key (0..9) -> [type name, value]. */
  readonly defaultData: Map<number, [string, PSValue]>;
}

export function decodeHostInfo(v: PSValue | undefined): DecodedHostInfo {
  const o = v instanceof PSObject ? v : new PSObject();
  const defaultData = new Map<number, [string, PSValue]>();
  const hdd = o.get('_hostDefaultData');
  const data = hdd instanceof PSObject ? hdd.get('data') : undefined;
  if (data instanceof PSObject && data.baseValue instanceof PSDictionary) {
    for (const [k, entry] of data.baseValue.entries) {
      if (typeof k === 'number' && entry instanceof PSObject)
        defaultData.set(k, [asString(entry.get('T')) ?? '', entry.get('V') ?? null]);
    }
  }
  return {
    isHostNull: o.get('_isHostNull') === true,
    isHostUINull: o.get('_isHostUINull') === true,
    isHostRawUINull: o.get('_isHostRawUINull') === true,
    useRunspaceHost: o.get('_useRunspaceHost') === true,
    defaultData,
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
