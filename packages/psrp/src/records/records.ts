import { PSList, PSObject, PSPrimitive, type PSValue } from '../clixml/value.ts';
import { asNumber, asString, enumValue, psEnum } from '../message/codecs/enum.ts';

/*
 * The records the server's streams carry: ErrorRecord (MS-PSRP 2.2.3.15), ProgressRecord (2.2.5.1.25) and
 * InformationRecord (2.2.5.1.26). Each has the decoder the client reads it with and the encoder the fake server
 * and the tests write it with.
 */

/** PowerShell's System.Management.Automation.ErrorCategory names; the value is the index. */
export const ERROR_CATEGORY_NAMES = [
  'NotSpecified',
  'OpenError',
  'CloseError',
  'DeviceError',
  'DeadlockDetected',
  'InvalidArgument',
  'InvalidData',
  'InvalidOperation',
  'InvalidResult',
  'InvalidType',
  'MetadataError',
  'NotImplemented',
  'NotInstalled',
  'ObjectNotFound',
  'OperationStopped',
  'OperationTimeout',
  'SyntaxError',
  'ParserError',
  'PermissionDenied',
  'ResourceBusy',
  'ResourceExists',
  'ResourceUnavailable',
  'ReadError',
  'WriteError',
  'FromStdErr',
  'SecurityError',
  'ProtocolError',
  'ConnectionError',
  'AuthenticationError',
  'LimitsExceeded',
  'QuotaExceeded',
  'NotEnabled',
] as const;
const CATEGORIES: readonly string[] = ERROR_CATEGORY_NAMES;

export interface ErrorRecordInfo {
  readonly message: string;
  readonly fullyQualifiedErrorId: string;
  /** ErrorCategory name. */
  readonly category: string;
  /** PowerShell's CategoryInfo text: `ObjectNotFound: (nope:String) [Get-Item], ItemNotFoundException`. */
  readonly categoryInfo: string;
  readonly targetName?: string;
  readonly activity?: string;
  readonly reason?: string;
  readonly exceptionTypeName?: string;
  readonly positionMessage?: string;
  readonly scriptStackTrace?: string;
  readonly errorDetailsMessage?: string;
  readonly recommendedAction?: string;
  readonly raw: PSObject;
}

/** Reads a serialized ErrorRecord (MS-PSRP 2.2.3.15). */
export function decodeErrorRecord(v: PSValue | undefined): ErrorRecordInfo {
  const o = v instanceof PSObject ? v : new PSObject({ toStringValue: asString(v) ?? 'Unknown error' });
  const exception = o.get('Exception');
  const exceptionMessage =
    exception instanceof PSObject ? asString(exception.get('Message')) : asString(exception);
  const errorDetailsMessage = asString(o.get('ErrorDetails_Message'));
  const message = errorDetailsMessage || exceptionMessage || o.toStringValue || 'Unknown error';
  const catValue = enumValue(o.get('ErrorCategory_Category'));
  const category = (catValue !== undefined ? CATEGORIES[catValue] : undefined) ?? 'NotSpecified';
  const activity = asString(o.get('ErrorCategory_Activity'));
  const reason = asString(o.get('ErrorCategory_Reason'));
  const targetName = asString(o.get('ErrorCategory_TargetName'));
  const targetType = asString(o.get('ErrorCategory_TargetType'));
  const categoryInfo =
    asString(o.get('ErrorCategory_Message')) ??
    `${category}: (${targetName ?? ''}:${targetType ?? ''}) [${activity ?? ''}], ${reason ?? ''}`;
  const exceptionTypeName =
    exception instanceof PSObject ? exception.typeNames[0]?.replace(/^Deserialized\./, '') : undefined;
  return {
    message,
    fullyQualifiedErrorId: asString(o.get('FullyQualifiedErrorId')) ?? 'Unknown',
    category,
    categoryInfo,
    ...(targetName !== undefined ? { targetName } : {}),
    ...(activity !== undefined ? { activity } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(exceptionTypeName !== undefined ? { exceptionTypeName } : {}),
    ...optional('positionMessage', asString(o.get('InvocationInfo_PositionMessage'))),
    ...optional('scriptStackTrace', asString(o.get('ErrorDetails_ScriptStackTrace'))),
    ...optional('errorDetailsMessage', errorDetailsMessage),
    ...optional('recommendedAction', asString(o.get('ErrorDetails_RecommendedAction'))),
    raw: o,
  };
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

/**
 * An ErrorRecord for a failure the client detects itself (PowerShell raises a PSRemotingTransportException, an
 * error of category ResourceUnavailable), in the shape decodeErrorRecord gives for the server's records.
 */
export function clientErrorRecord(
  errorId: string,
  message: string,
  category: (typeof ERROR_CATEGORY_NAMES)[number] = 'ResourceUnavailable',
): ErrorRecordInfo {
  const type = 'System.Management.Automation.Remoting.PSRemotingTransportException';
  const exception = new PSObject({
    typeNames: [
      type,
      'System.Management.Automation.RuntimeException',
      'System.SystemException',
      'System.Exception',
      'System.Object',
    ],
    toStringValue: `${type}: ${message}`,
    adapted: [['Message', message]],
  });
  return decodeErrorRecord(
    new PSObject({
      typeNames: ['System.Management.Automation.ErrorRecord', 'System.Object'],
      toStringValue: message,
      extended: [
        ['Exception', exception],
        ['FullyQualifiedErrorId', errorId],
        ['ErrorCategory_Category', CATEGORIES.indexOf(category)],
        ['ErrorCategory_Reason', 'PSRemotingTransportException'],
      ],
    }),
  );
}

function optional<K extends string>(k: K, v: string | undefined): { [P in K]?: string } {
  return (v === undefined || v === '' ? {} : { [k]: v }) as { [P in K]?: string };
}

export interface ProgressRecordInfo {
  readonly activity: string;
  readonly activityId: number;
  readonly statusDescription: string;
  readonly currentOperation: string | null;
  readonly parentActivityId: number;
  readonly percentComplete: number;
  readonly secondsRemaining: number;
  readonly recordType: 'Processing' | 'Completed';
}

/** MS-PSRP 2.2.5.1.25. */
export function decodeProgressRecord(v: PSValue | undefined): ProgressRecordInfo {
  const o = v instanceof PSObject ? v : new PSObject();
  const type = o.get('Type');
  const typeNum = enumValue(type);
  const typeName = type instanceof PSObject ? type.toStringValue : asString(type);
  return {
    activity: asString(o.get('Activity')) ?? '',
    activityId: asNumber(o.get('ActivityId')) ?? 0,
    statusDescription: asString(o.get('StatusDescription')) ?? '',
    currentOperation: asString(o.get('CurrentOperation')) ?? null,
    parentActivityId: asNumber(o.get('ParentActivityId')) ?? -1,
    percentComplete: asNumber(o.get('PercentComplete')) ?? -1,
    secondsRemaining: asNumber(o.get('SecondsRemaining')) ?? -1,
    recordType: typeNum === 1 || typeName === 'Completed' ? 'Completed' : 'Processing',
  };
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
  return new PSObject({
    extended: [
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
    ],
  });
}

export interface InformationRecordInfo {
  readonly messageData: PSValue;
  /** The text PowerShell would show (MessageData's string form; HostInformationMessage's Message). */
  readonly text: string;
  readonly source: string;
  readonly tags: string[];
  readonly timeGenerated: string | undefined;
  readonly user: string | undefined;
  readonly computer: string | undefined;
  readonly processId: number | undefined;
  readonly raw: PSObject;
}

/** MS-PSRP 2.2.5.1.26. */
export function decodeInformationRecord(v: PSValue | undefined): InformationRecordInfo {
  const o = v instanceof PSObject ? v : new PSObject();
  const data = o.get('MessageData') ?? null;
  let text: string;
  if (data instanceof PSObject && data.has('Message')) text = asString(data.get('Message')) ?? '';
  else text = data === null ? '' : String(data);
  const tagsValue = o.get('Tags');
  const tags =
    tagsValue instanceof PSObject && tagsValue.baseValue instanceof PSList
      ? tagsValue.baseValue.items.map((t) => String(t))
      : [];
  return {
    messageData: data,
    text,
    source: asString(o.get('Source')) ?? '',
    tags,
    timeGenerated: asString(o.get('TimeGenerated')),
    user: asString(o.get('User')),
    computer: asString(o.get('Computer')),
    processId: asNumber(o.get('ProcessId')),
    raw: o,
  };
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
