import type { DecodedHostCall, HostCall, HostCallResult, HostReturn } from '@psremote/psrp';
import type { Credential, HostUi, PromptAnswer } from '../host/host-ui.ts';

/** What to do with a host call's outcome. */
export type HostCallOutcome =
  | { readonly kind: 'respond'; readonly result: HostCallResult }
  /** A void method: nothing goes back. */
  | { readonly kind: 'none' }
  /** PopRunspace / SetShouldExit: the interactive session ends (RemoteHost.cs: not forwarded to the host). */
  | { readonly kind: 'exit'; readonly exitCode: number };

const ok = (value: HostReturn): HostCallOutcome => ({ kind: 'respond', result: { value } });
const none: HostCallOutcome = { kind: 'none' };

function notSupported(call: HostCall, why?: string): HostCallOutcome {
  // The reply PowerShell's own host gives for a member it does not implement (RemoteHostExecutionException).
  return {
    kind: 'respond',
    result: {
      error: {
        message: why ?? `The host does not support ${call.methodName}.`,
        errorId: 'RemoteHostExecutionException',
      },
    },
  };
}

/** A member this client does not implement: a void call goes unanswered, any other gets the error reply. */
function unsupported(call: HostCall): HostCallOutcome {
  return call.callId === -100n ? none : notSupported(call);
}

function credentialReturn(c: Credential | null): HostReturn {
  return c
    ? { kind: 'credential', userName: c.userName, password: c.password }
    : { kind: 'value', value: null };
}

function promptAnswerReturn(a: PromptAnswer | undefined, typeName: string): HostReturn | null {
  if (a === undefined || a === null) return null;
  if (typeof a === 'string')
    return /SecureString/i.test(typeName) ? { kind: 'secureString', value: a } : { kind: 'string', value: a };
  if (Array.isArray(a)) return { kind: 'stringArray', values: a };
  if ('secureString' in a) return { kind: 'secureString', value: a.secureString };
  return { kind: 'credential', userName: a.userName, password: a.password };
}

const isSecureString = (typeName: string) => /(^|\.)SecureString$/i.test(typeName);
const isCredential = (typeName: string) => /(^|\.)PSCredential$/i.test(typeName);

/**
 * What PowerShell's client does to a host call from a remote computer before its host sees it
 * (RemoteHostCall.PerformSecurityChecksOnHostMessage): a secure read is preceded by a warning naming the computer,
 * and a credential prompt says in its caption and message that the remote computer asks. Returns the call to
 * dispatch (the same one, or one with the caption and message changed); the warnings are written here.
 */
function remoteHostSecurity(d: DecodedHostCall, ui: HostUi, computerName: string): DecodedHostCall {
  const computer = computerName.toUpperCase();
  const credentialCaption = (caption: string) =>
    // CredUI.PromptForCredential_DefaultCaption, trailing blank included, is left as it is: Get-Credential's own
    // caption has no blank, so pwsh shows `PowerShell Credential Request: PowerShell credential request`.
    caption.toLowerCase() === 'powershell credential request '
      ? caption
      : `PowerShell Credential Request: ${caption}`;
  const credentialMessage = (message: string) =>
    `Warning: A script or application on the remote computer ${computer} is requesting your credentials. Enter your credentials only if you trust the remote computer and the application or script that is requesting them.\n\n${message}`;
  switch (d.method) {
    case 'ReadLineAsSecureString':
      ui.writeWarningLine(
        `A script or application on the remote computer ${computer} is asking to read a line securely. Enter sensitive information, such as your credentials, only if you trust the remote computer and the application or script that is requesting it.`,
      );
      return d;
    case 'Prompt': {
      // One warning per SecureString field, before the prompt.
      for (const f of d.fields)
        if (isSecureString(f.parameterTypeName))
          ui.writeWarningLine(
            `A script or application on the remote computer ${computer} is sending a prompt request. When you are prompted, enter sensitive information, such as credentials or passwords, only if you trust the remote computer and the application or script that is requesting the data.`,
          );
      if (!d.fields.some((f) => isCredential(f.parameterTypeName))) return d;
      return { ...d, caption: credentialCaption(d.caption), message: credentialMessage(d.message) };
    }
    case 'PromptForCredential1':
    case 'PromptForCredential2':
      return { ...d, caption: credentialCaption(d.caption), message: credentialMessage(d.message) };
    default:
      return d;
  }
}

/**
 * Answers one host call with the HostUi (protocols.md 1.6): output methods write, prompts ask, RawUI members
 * read or set. It acts on the engine's typed decoding of the call (`call.decoded`), read safely from whatever
 * the server sent. A member the HostUi cannot honour gets PowerShell's error reply,
 * never silence. With `computerName` (a session's), PowerShell's client-side security checks come first
 * (remoteHostSecurity).
 */
export async function dispatchHostCall(
  call: HostCall,
  ui: HostUi,
  signal?: AbortSignal,
  computerName?: string,
): Promise<HostCallOutcome> {
  const d = computerName === undefined ? call.decoded : remoteHostSecurity(call.decoded, ui, computerName);
  try {
    switch (d.method) {
      case 'Write1':
        ui.write(d.text);
        return none;
      case 'Write2':
        ui.write(d.text, d.foregroundColor, d.backgroundColor);
        return none;
      case 'WriteLine1':
        ui.writeLine('');
        return none;
      case 'WriteLine2':
        ui.writeLine(d.text);
        return none;
      case 'WriteLine3':
        ui.writeLine(d.text, d.foregroundColor, d.backgroundColor);
        return none;
      case 'WriteErrorLine':
        ui.writeErrorLine(d.text);
        return none;
      case 'WriteDebugLine':
        ui.writeDebugLine(d.text);
        return none;
      case 'WriteVerboseLine':
        ui.writeVerboseLine(d.text);
        return none;
      case 'WriteWarningLine':
        ui.writeWarningLine(d.text);
        return none;
      case 'WriteProgress':
        ui.writeProgress(d.sourceId, d.record);
        return none;
      case 'ReadLine':
        return ok({ kind: 'string', value: await ui.readLine(signal) });
      case 'ReadLineAsSecureString':
        return ok({ kind: 'secureString', value: await ui.readLineAsSecureString(signal) });
      case 'Prompt': {
        const answers = await ui.prompt(d.caption, d.message, d.fields, signal);
        return ok({
          kind: 'promptResult',
          entries: d.fields.map(
            (f) => [f.name, promptAnswerReturn(answers[f.name], f.parameterTypeName)] as const,
          ),
        });
      }
      case 'PromptForCredential1':
      case 'PromptForCredential2':
        return ok(
          credentialReturn(
            await ui.promptForCredential(d.caption, d.message, d.userName, d.targetName, signal),
          ),
        );
      case 'PromptForChoice':
        return ok({
          kind: 'int32',
          value: await ui.promptForChoice(d.caption, d.message, d.choices, d.defaultChoice, signal),
        });
      case 'PromptForChoiceMultipleSelection':
        return ok({
          kind: 'int32Collection',
          values: await ui.promptForChoiceMultiple(d.caption, d.message, d.choices, d.defaultChoices, signal),
        });
      case 'SetShouldExit':
        return { kind: 'exit', exitCode: d.exitCode };
      case 'PopRunspace':
        return { kind: 'exit', exitCode: 0 };
      case 'EnterNestedPrompt':
      case 'ExitNestedPrompt':
        return notSupported(call, 'Nested prompts are not supported in a remote session.');
      case 'NotifyBeginApplication':
      case 'NotifyEndApplication':
        return none;
      case 'GetIsRunspacePushed':
        return ok({ kind: 'boolean', value: true });
      default:
        // Awaited here, so a RawUi member that throws or rejects (ReadKey aborted) becomes an error reply.
        return await rawUi(call, d, ui, signal);
    }
  } catch (e) {
    return notSupported(call, (e as Error).message);
  }
}

/** The PSHostRawUserInterface members; any other member (GetName, the buffer methods, PushRunspace, an unknown id) is unsupported. */
async function rawUi(
  call: HostCall,
  d: DecodedHostCall,
  ui: HostUi,
  signal?: AbortSignal,
): Promise<HostCallOutcome> {
  const raw = ui.rawUi;
  if (!raw) return unsupported(call);
  switch (d.method) {
    case 'GetForegroundColor':
      return ok({ kind: 'color', value: raw.foregroundColor });
    case 'SetForegroundColor':
      raw.foregroundColor = d.color ?? raw.foregroundColor;
      return none;
    case 'GetBackgroundColor':
      return ok({ kind: 'color', value: raw.backgroundColor });
    case 'SetBackgroundColor':
      raw.backgroundColor = d.color ?? raw.backgroundColor;
      return none;
    case 'GetCursorPosition':
      return ok({ kind: 'coordinates', ...raw.cursorPosition });
    case 'SetCursorPosition':
      raw.cursorPosition = d.coordinates;
      return none;
    case 'GetWindowPosition':
      return ok({ kind: 'coordinates', ...raw.windowPosition });
    case 'SetWindowPosition':
      raw.windowPosition = d.coordinates;
      return none;
    case 'GetCursorSize':
      return ok({ kind: 'int32', value: raw.cursorSize });
    case 'SetCursorSize':
      raw.cursorSize = d.cursorSize ?? raw.cursorSize;
      return none;
    case 'GetBufferSize':
      return ok({ kind: 'size', ...raw.bufferSize });
    case 'SetBufferSize':
      raw.bufferSize = d.size;
      return none;
    case 'GetWindowSize':
      return ok({ kind: 'size', ...raw.windowSize });
    case 'SetWindowSize':
      raw.windowSize = d.size;
      return none;
    case 'GetWindowTitle':
      return ok({ kind: 'string', value: raw.windowTitle });
    case 'SetWindowTitle':
      raw.windowTitle = d.title;
      return none;
    case 'GetMaxWindowSize':
      return ok({ kind: 'size', ...raw.maxWindowSize });
    case 'GetMaxPhysicalWindowSize':
      return ok({ kind: 'size', ...raw.maxPhysicalWindowSize });
    case 'GetKeyAvailable':
      return ok({ kind: 'boolean', value: raw.keyAvailable });
    case 'ReadKey':
      return ok({ kind: 'keyInfo', ...(await raw.readKey(d.options, signal)) });
    case 'FlushInputBuffer':
      raw.flushInputBuffer();
      return none;
    default:
      return unsupported(call);
  }
}
