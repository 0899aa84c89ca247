import { type InvocationEvent, type PSRemotingError, psValueText } from '@psremote/core';
import { type ErrorRecordInfo, type PSInvocationState, PSObject } from '@psremote/psrp';
import type { TerminalHostUi } from './host-ui.ts';

/**
 * What a command sends back, on the terminal: output as text; error records through `writeErrorRecord` (stderr),
 * counted for the exit status.
 *
 * Warning, verbose, debug, information and progress records are not drawn: the server already wrote each one that
 * its preference lets through to this host, through the host calls (WriteWarningLine, WriteVerboseLine,
 * WriteDebugLine, WriteProgress, WriteLine for Write-Host and `-InformationAction Continue`), and the record that
 * follows is the same message again for the command's streams (PowerShell's InternalHostUserInterface writes both;
 * its client keeps the records in PowerShell.Streams and shows only the host calls). Drawing them printed every
 * warning twice and showed `Write-Information` text that pwsh hides.
 */
export function renderEvent(
  ev: InvocationEvent,
  hostUi: TerminalHostUi,
  writeErrorRecord: (record: ErrorRecordInfo) => void,
): void {
  switch (ev.kind) {
    case 'output':
      hostUi.writeLine(psValueText(ev.value));
      break;
    case 'error':
      hostUi.errors++;
      writeErrorRecord(ev.record);
      break;
    default:
      // warning, verbose, debug, information, progress: shown by the server's host calls (above).
      break;
  }
}

/**
 * A remote error record in pwsh's default error view, ConciseView (red when `colors`): `<reason>: <message>`, as
 * `Invoke-Command -Session` shows it. The reason (PowerShellCore_format_ps1xml.cs, ErrorRecord's view):
 * `Exception` for a `throw`, else the command the error came from (its CategoryInfo activity, the command's name for
 * a cmdlet's error), else the invocation name, else the category when it says something, else the exception type,
 * else `Error`. The message is ErrorDetails' when there is one, else the exception's.
 * No `Line |` detail: pwsh shows none for a remote record either, even from a multi-line script (the
 * differential test checks one).
 */
export function formatErrorRecord(r: ErrorRecordInfo, colors: boolean): string {
  const text = `${conciseReason(r)}: ${r.message}`;
  return colors ? `\x1b[91m${text}\x1b[0m` : text;
}

function conciseReason(r: ErrorRecordInfo): string {
  const exception = r.raw.get('Exception');
  if (exception instanceof PSObject && exception.get('WasThrownFromThrowStatement') === true)
    return 'Exception';
  if (r.activity) return r.activity;
  const invocation = r.raw.get('InvocationInfo_InvocationName');
  if (typeof invocation === 'string' && invocation !== '') return invocation;
  if (r.category && r.category !== 'NotSpecified') return r.category;
  if (r.reason) return r.reason;
  return 'Error';
}

/**
 * What Enter-PSSession shows when a typed line's pipeline fails or is stopped (a throw, -ErrorAction Stop, a parse
 * error, Ctrl+C): `Error: ` and the exception's message. The console host catches the remote pipeline's exception
 * and hands its ErrorRecord to Out-Default in the pushed runspace (ConsoleHost.ReportException), so the record is
 * formatted on the server as a deserialized property bag: the concise view finds no InvocationInfo nor
 * CategoryInfo there, so its reason is `Error`, and no ErrorDetails, so its message is Exception.Message.
 * A stopped pipeline throws PipelineStoppedException ("The pipeline has been stopped."). Checked against pwsh 7.6.
 */
export function failedLineText(
  state: PSInvocationState | string,
  reason: ErrorRecordInfo | undefined,
): string | undefined {
  if (state === 'Stopped') return 'Error: The pipeline has been stopped.';
  if (state !== 'Failed' || reason === undefined) return undefined;
  const exception = reason.raw.get('Exception');
  const message = exception instanceof PSObject ? exception.get('Message') : undefined;
  const text = typeof message === 'string' && message !== '' ? message : reason.message;
  return `Error: ${text}`;
}

const BINDING_IDS = new Set([
  'AmbiguousParameterSet',
  'AmbiguousParameter',
  'NamedParameterNotFound',
  'MissingArgument',
  'ParameterAlreadyBound',
  'PositionalParameterNotFound',
  'MissingMandatoryParameter',
  'CannotConvertArgument',
  'CannotConvertArgumentNoMessage',
  'ParameterArgumentValidationError',
  'ParameterArgumentTransformationError',
  'ParameterBindingFailed',
  'ScriptBlockArgumentNoInput',
  'OptionTakesNoValue',
  'UnknownPsremoteOption',
  'UnknownPsremoteCommand',
]);

/** The cmdlet an error's command class names, for the error view's prefix (the session verbs raise these too). */
const CMDLET_OF: Readonly<Record<string, string>> = {
  'Microsoft.PowerShell.Commands.InvokeCommandCommand': 'Invoke-Command',
  'Microsoft.PowerShell.Commands.NewPSSessionCommand': 'New-PSSession',
  'Microsoft.PowerShell.Commands.GetPSSessionCommand': 'Get-PSSession',
  'Microsoft.PowerShell.Commands.RemovePSSessionCommand': 'Remove-PSSession',
};

/** psremote's own error in PowerShell's error view: the message, then CategoryInfo and FullyQualifiedErrorId. */
export function formatLocalError(e: PSRemotingError): string {
  const reason = BINDING_IDS.has(e.errorId) ? 'ParameterBindingException' : 'PSRemotingTransportException';
  const target = typeof e.targetObject === 'string' ? `${e.targetObject}:String` : ':';
  const cmdlet = CMDLET_OF[e.commandName] ?? 'Enter-PSSession';
  const lines = [
    `${cmdlet}: ${boundedMessage(e.message)}`,
    `    + CategoryInfo          : ${e.category}: (${target}) [${cmdlet}], ${reason}`,
    `    + FullyQualifiedErrorId : ${e.fullyQualifiedErrorId}`,
  ];
  if (e.recommendedAction) lines.push(`    + RecommendedAction     : ${e.recommendedAction}`);
  return lines.join('\n');
}

/** The most of psremote's own error message that is shown; the rest is counted, not printed. */
export const MAX_LOCAL_ERROR_MESSAGE = 4000;

/**
 * psremote's own messages quote what the server sent (a malformed value, the server's stderr): a hostile server
 * must not turn one error into megabytes on the terminal, or push the error id out of sight. The cut is said.
 */
function boundedMessage(message: string): string {
  if (message.length <= MAX_LOCAL_ERROR_MESSAGE) return message;
  const rest = message.length - MAX_LOCAL_ERROR_MESSAGE;
  return `${message.slice(0, MAX_LOCAL_ERROR_MESSAGE)}... (${rest} more characters)`;
}
