import { PSList, PSObject, type PSValue } from '../clixml/value.ts';
import { asNumber, asString, enumValue } from '../message/codecs/enum.ts';

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
