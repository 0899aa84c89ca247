import {
  decodeChoiceDescriptions,
  decodeColor,
  decodeCoordinates,
  decodeFieldDescriptions,
  decodeIntCollection,
  decodeProgressRecord,
  decodeSize,
  type HostCall,
  type HostCallResult,
  type HostReturn,
  type PSValue,
} from '@psremote/psrp';
import type { Credential, HostUi, PromptAnswer } from '../host/host-ui.ts';
import { psValueNumber, psValueText } from '../util/ps-value-text.ts';

/** What to do with a host call's outcome. */
export type HostCallOutcome =
  | { readonly kind: 'respond'; readonly result: HostCallResult }
  /** A void method: nothing goes back. */
  | { readonly kind: 'none' }
  /** PopRunspace / SetShouldExit: the interactive session ends (RemoteHost.cs: not forwarded to the host). */
  | { readonly kind: 'exit'; readonly exitCode: number };

// Host-call arguments are server values: their text must be finite even when the server sent a cycle.
const str = (v: PSValue | undefined): string => psValueText(v);
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

/**
 * Answers one host call with the HostUi (protocols.md 1.6): output methods write, prompts ask, RawUI members
 * read or set. A member the HostUi cannot honour gets PowerShell's error reply, never silence.
 */
export async function dispatchHostCall(
  call: HostCall,
  ui: HostUi,
  signal?: AbortSignal,
): Promise<HostCallOutcome> {
  const a = call.args;
  try {
    switch (call.methodName) {
      case 'Write1':
        ui.write(str(a[0]));
        return none;
      case 'Write2':
        ui.write(str(a[2]), decodeColor(a[0]), decodeColor(a[1]));
        return none;
      case 'WriteLine1':
        ui.writeLine('');
        return none;
      case 'WriteLine2':
        ui.writeLine(str(a[0]));
        return none;
      case 'WriteLine3':
        ui.writeLine(str(a[2]), decodeColor(a[0]), decodeColor(a[1]));
        return none;
      case 'WriteErrorLine':
        ui.writeErrorLine(str(a[0]));
        return none;
      case 'WriteDebugLine':
        ui.writeDebugLine(str(a[0]));
        return none;
      case 'WriteVerboseLine':
        ui.writeVerboseLine(str(a[0]));
        return none;
      case 'WriteWarningLine':
        ui.writeWarningLine(str(a[0]));
        return none;
      case 'WriteProgress': {
        const src = a[0];
        const sourceId =
          typeof src === 'object' && src !== null && 'value' in src && typeof src.value === 'bigint'
            ? src.value
            : BigInt(Math.trunc(psValueNumber(src, 0)));
        ui.writeProgress(sourceId, decodeProgressRecord(a[1]));
        return none;
      }
      case 'ReadLine':
        return ok({ kind: 'string', value: await ui.readLine(signal) });
      case 'ReadLineAsSecureString':
        return ok({ kind: 'secureString', value: await ui.readLineAsSecureString(signal) });
      case 'Prompt': {
        const fields = decodeFieldDescriptions(a[2]);
        const answers = await ui.prompt(str(a[0]), str(a[1]), fields, signal);
        return ok({
          kind: 'promptResult',
          entries: fields.map(
            (f) => [f.name, promptAnswerReturn(answers[f.name], f.parameterTypeName)] as const,
          ),
        });
      }
      case 'PromptForCredential1':
      case 'PromptForCredential2':
        return ok(
          credentialReturn(await ui.promptForCredential(str(a[0]), str(a[1]), str(a[2]), str(a[3]), signal)),
        );
      case 'PromptForChoice':
        return ok({
          kind: 'int32',
          value: await ui.promptForChoice(
            str(a[0]),
            str(a[1]),
            decodeChoiceDescriptions(a[2]),
            psValueNumber(a[3], -1),
            signal,
          ),
        });
      case 'PromptForChoiceMultipleSelection':
        return ok({
          kind: 'int32Collection',
          values: await ui.promptForChoiceMultiple(
            str(a[0]),
            str(a[1]),
            decodeChoiceDescriptions(a[2]),
            decodeIntCollection(a[3]),
            signal,
          ),
        });
      case 'SetShouldExit':
        return { kind: 'exit', exitCode: psValueNumber(a[0], 0) };
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
        return rawUi(call, ui, signal);
    }
  } catch (e) {
    return notSupported(call, (e as Error).message);
  }
}

async function rawUi(call: HostCall, ui: HostUi, signal?: AbortSignal): Promise<HostCallOutcome> {
  const raw = ui.rawUi;
  if (!raw) return call.callId === -100n ? none : notSupported(call);
  const a = call.args;
  switch (call.methodName) {
    case 'GetForegroundColor':
      return ok({ kind: 'color', value: raw.foregroundColor });
    case 'SetForegroundColor':
      raw.foregroundColor = decodeColor(a[0]) ?? raw.foregroundColor;
      return none;
    case 'GetBackgroundColor':
      return ok({ kind: 'color', value: raw.backgroundColor });
    case 'SetBackgroundColor':
      raw.backgroundColor = decodeColor(a[0]) ?? raw.backgroundColor;
      return none;
    case 'GetCursorPosition':
      return ok({ kind: 'coordinates', ...raw.cursorPosition });
    case 'SetCursorPosition':
      raw.cursorPosition = decodeCoordinates(a[0]);
      return none;
    case 'GetWindowPosition':
      return ok({ kind: 'coordinates', ...raw.windowPosition });
    case 'SetWindowPosition':
      raw.windowPosition = decodeCoordinates(a[0]);
      return none;
    case 'GetCursorSize':
      return ok({ kind: 'int32', value: raw.cursorSize });
    case 'SetCursorSize':
      raw.cursorSize = psValueNumber(a[0], raw.cursorSize);
      return none;
    case 'GetBufferSize':
      return ok({ kind: 'size', ...raw.bufferSize });
    case 'SetBufferSize':
      raw.bufferSize = decodeSize(a[0]);
      return none;
    case 'GetWindowSize':
      return ok({ kind: 'size', ...raw.windowSize });
    case 'SetWindowSize':
      raw.windowSize = decodeSize(a[0]);
      return none;
    case 'GetWindowTitle':
      return ok({ kind: 'string', value: raw.windowTitle });
    case 'SetWindowTitle':
      raw.windowTitle = str(a[0]);
      return none;
    case 'GetMaxWindowSize':
      return ok({ kind: 'size', ...raw.maxWindowSize });
    case 'GetMaxPhysicalWindowSize':
      return ok({ kind: 'size', ...raw.maxPhysicalWindowSize });
    case 'GetKeyAvailable':
      return ok({ kind: 'boolean', value: raw.keyAvailable });
    case 'ReadKey': {
      const opt = psValueNumber(a[0], 4);
      const k = await raw.readKey(opt, signal);
      return ok({ kind: 'keyInfo', ...k });
    }
    case 'FlushInputBuffer':
      raw.flushInputBuffer();
      return none;
    default:
      return call.callId === -100n ? none : notSupported(call);
  }
}
