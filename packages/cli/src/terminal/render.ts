import { type InvocationEvent, type PSRemotingError, psValueText } from '@psremote/core';
import type { ErrorRecordInfo } from '@psremote/psrp';
import type { TerminalHostUi } from './host-ui.ts';

/**
 * What a command sends back, on the terminal: output as text, each stream through the host UI's colours; error
 * records through `writeErrorRecord` (stderr), counted for the exit status.
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
    case 'warning':
      hostUi.writeWarningLine(ev.message);
      break;
    case 'verbose':
      hostUi.writeVerboseLine(ev.message);
      break;
    case 'debug':
      hostUi.writeDebugLine(ev.message);
      break;
    case 'information':
      // Write-Host text already came through the host's Write calls; its record is tagged PSHOST.
      if (!ev.record.tags.includes('PSHOST')) hostUi.writeInformation(ev.record.text);
      break;
    case 'progress':
      hostUi.writeProgress(0n, ev.record);
      break;
  }
}

/** A remote error record in PowerShell's error view (red when `colors`): the message, CategoryInfo, FullyQualifiedErrorId. */
export function formatErrorRecord(r: ErrorRecordInfo, colors: boolean): string {
  const text = `${r.message}\n    + CategoryInfo          : ${r.categoryInfo}\n    + FullyQualifiedErrorId : ${r.fullyQualifiedErrorId}`;
  return colors ? `\x1b[91m${text}\x1b[0m` : text;
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
