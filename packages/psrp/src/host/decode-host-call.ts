import { PSObject, PSPrimitive, type PSValue } from '../clixml/value.ts';
import { psValueNumber, psValueText } from '../clixml/value-text.ts';
import { asNumber, asString, enumValue } from '../message/codecs/enum.ts';
import { decodeProgressRecord, type ProgressRecordInfo } from '../records/records.ts';
import {
  type ChoiceDescriptionInfo,
  decodeChoiceDescriptions,
  decodeColor,
  decodeCoordinates,
  decodeFieldDescriptions,
  decodeIntCollection,
  decodeSize,
  type FieldDescriptionInfo,
} from './host-call-args.ts';
import { hostMethodName } from './host-method.ts';

export interface Coordinates {
  readonly x: number;
  readonly y: number;
}
export interface Size {
  readonly width: number;
  readonly height: number;
}
export interface Rectangle {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}
export interface BufferCell {
  readonly character: string;
  readonly foregroundColor: number;
  readonly backgroundColor: number;
  readonly bufferCellType: number;
}

/** Methods without arguments (getters, ReadLine, nested prompts, runspace queries). */
export type NoArgHostMethod =
  | 'GetName'
  | 'GetVersion'
  | 'GetInstanceId'
  | 'GetCurrentCulture'
  | 'GetCurrentUICulture'
  | 'EnterNestedPrompt'
  | 'ExitNestedPrompt'
  | 'NotifyBeginApplication'
  | 'NotifyEndApplication'
  | 'ReadLine'
  | 'ReadLineAsSecureString'
  | 'WriteLine1'
  | 'GetForegroundColor'
  | 'GetBackgroundColor'
  | 'GetCursorPosition'
  | 'GetWindowPosition'
  | 'GetCursorSize'
  | 'GetBufferSize'
  | 'GetWindowSize'
  | 'GetWindowTitle'
  | 'GetMaxWindowSize'
  | 'GetMaxPhysicalWindowSize'
  | 'GetKeyAvailable'
  | 'FlushInputBuffer'
  | 'PopRunspace'
  | 'GetIsRunspacePushed'
  | 'GetRunspace';

/** A host call's arguments, typed by method (MS-PSRP 2.2.3.17; protocols.md 1.6, ids 1..56). */
export type DecodedHostCall =
  | { readonly method: NoArgHostMethod }
  | { readonly method: 'SetShouldExit'; readonly exitCode: number }
  | {
      readonly method:
        | 'Write1'
        | 'WriteLine2'
        | 'WriteErrorLine'
        | 'WriteDebugLine'
        | 'WriteVerboseLine'
        | 'WriteWarningLine';
      readonly text: string;
    }
  | {
      readonly method: 'Write2' | 'WriteLine3';
      /** Undefined when the argument is no colour: the host keeps its own. */
      readonly foregroundColor: number | undefined;
      readonly backgroundColor: number | undefined;
      readonly text: string;
    }
  | { readonly method: 'WriteProgress'; readonly sourceId: bigint; readonly record: ProgressRecordInfo }
  | {
      readonly method: 'Prompt';
      readonly caption: string;
      readonly message: string;
      readonly fields: FieldDescriptionInfo[];
    }
  | {
      readonly method: 'PromptForCredential1';
      readonly caption: string;
      readonly message: string;
      readonly userName: string;
      readonly targetName: string;
    }
  | {
      readonly method: 'PromptForCredential2';
      readonly caption: string;
      readonly message: string;
      readonly userName: string;
      readonly targetName: string;
      /** PSCredentialTypes flags (Generic 1, Domain 2). */
      readonly allowedCredentialTypes: number;
      /** PSCredentialUIOptions flags. */
      readonly options: number;
    }
  | {
      readonly method: 'PromptForChoice';
      readonly caption: string;
      readonly message: string;
      readonly choices: ChoiceDescriptionInfo[];
      readonly defaultChoice: number;
    }
  | {
      readonly method: 'PromptForChoiceMultipleSelection';
      readonly caption: string;
      readonly message: string;
      readonly choices: ChoiceDescriptionInfo[];
      readonly defaultChoices: number[];
    }
  /** `color` is undefined when the argument is no colour: the host keeps its own. */
  | { readonly method: 'SetForegroundColor' | 'SetBackgroundColor'; readonly color: number | undefined }
  | { readonly method: 'SetCursorPosition' | 'SetWindowPosition'; readonly coordinates: Coordinates }
  /** `cursorSize` is undefined when the argument is no number: the host keeps its own. */
  | { readonly method: 'SetCursorSize'; readonly cursorSize: number | undefined }
  | { readonly method: 'SetBufferSize' | 'SetWindowSize'; readonly size: Size }
  | { readonly method: 'SetWindowTitle'; readonly title: string }
  /** ReadKeyOptions flags (AllowCtrlC 1, NoEcho 2, IncludeKeyDown 4, IncludeKeyUp 8). */
  | { readonly method: 'ReadKey'; readonly options: number }
  | { readonly method: 'SetBufferContents1'; readonly rectangle: Rectangle; readonly fill: BufferCell }
  | { readonly method: 'SetBufferContents2'; readonly origin: Coordinates; readonly contents: PSValue }
  | { readonly method: 'GetBufferContents'; readonly rectangle: Rectangle }
  | {
      readonly method: 'ScrollBufferContents';
      readonly source: Rectangle;
      readonly destination: Coordinates;
      readonly clip: Rectangle;
      readonly fill: BufferCell;
    }
  | { readonly method: 'PushRunspace'; readonly runspace: PSValue }
  | { readonly method: 'Unknown'; readonly methodId: number };

// Text, and the numbers a client acts on (exit code, default choice, cursor size, ReadKey options, progress
// source id), read as psValueText and psValueNumber do: safe on any value the peer sent, base value cycles too.
const str = (v: PSValue | undefined): string => psValueText(v);
const num = (v: PSValue | undefined, dflt = 0): number => enumValue(v) ?? asNumber(v) ?? dflt;

function rectangle(v: PSValue | undefined): Rectangle {
  const o = v instanceof PSObject ? v : new PSObject();
  return {
    left: num(o.get('left')),
    top: num(o.get('top')),
    right: num(o.get('right')),
    bottom: num(o.get('bottom')),
  };
}

function bufferCell(v: PSValue | undefined): BufferCell {
  const o = v instanceof PSObject ? v : new PSObject();
  return {
    character: asString(o.get('character')) ?? ' ',
    foregroundColor: num(o.get('foregroundColor')),
    backgroundColor: num(o.get('backgroundColor')),
    bufferCellType: num(o.get('bufferCellType')),
  };
}

function int64(v: PSValue | undefined): bigint {
  if (v instanceof PSPrimitive && typeof v.value === 'bigint') return v.value;
  const n = psValueNumber(v, 0);
  return Number.isFinite(n) ? BigInt(Math.trunc(n)) : 0n;
}

const NO_ARGS = new Set<string>([
  'GetName',
  'GetVersion',
  'GetInstanceId',
  'GetCurrentCulture',
  'GetCurrentUICulture',
  'EnterNestedPrompt',
  'ExitNestedPrompt',
  'NotifyBeginApplication',
  'NotifyEndApplication',
  'ReadLine',
  'ReadLineAsSecureString',
  'WriteLine1',
  'GetForegroundColor',
  'GetBackgroundColor',
  'GetCursorPosition',
  'GetWindowPosition',
  'GetCursorSize',
  'GetBufferSize',
  'GetWindowSize',
  'GetWindowTitle',
  'GetMaxWindowSize',
  'GetMaxPhysicalWindowSize',
  'GetKeyAvailable',
  'FlushInputBuffer',
  'PopRunspace',
  'GetIsRunspacePushed',
  'GetRunspace',
]);

/**
 * Types a host call's `mp` arguments by method (RemoteHostMethodInfo.cs signatures). Lenient, as the values
 * come from the peer: a missing or odd argument becomes a neutral default, never a throw.
 */
export function decodeHostCall(methodId: number, args: readonly PSValue[]): DecodedHostCall {
  const name = hostMethodName(methodId);
  const a = args;
  if (NO_ARGS.has(name)) return { method: name as NoArgHostMethod };
  switch (name) {
    case 'SetShouldExit':
      return { method: name, exitCode: psValueNumber(a[0], 0) };
    case 'Write1':
    case 'WriteLine2':
    case 'WriteErrorLine':
    case 'WriteDebugLine':
    case 'WriteVerboseLine':
    case 'WriteWarningLine':
      return { method: name, text: str(a[0]) };
    case 'Write2':
    case 'WriteLine3':
      return {
        method: name,
        foregroundColor: decodeColor(a[0]),
        backgroundColor: decodeColor(a[1]),
        text: str(a[2]),
      };
    case 'WriteProgress':
      return { method: name, sourceId: int64(a[0]), record: decodeProgressRecord(a[1]) };
    case 'Prompt':
      return { method: name, caption: str(a[0]), message: str(a[1]), fields: decodeFieldDescriptions(a[2]) };
    case 'PromptForCredential1':
    case 'PromptForCredential2': {
      const first = { caption: str(a[0]), message: str(a[1]), userName: str(a[2]), targetName: str(a[3]) };
      return name === 'PromptForCredential1'
        ? { method: name, ...first }
        : { method: name, ...first, allowedCredentialTypes: num(a[4], 3), options: num(a[5]) };
    }
    case 'PromptForChoice':
      return {
        method: name,
        caption: str(a[0]),
        message: str(a[1]),
        choices: decodeChoiceDescriptions(a[2]),
        defaultChoice: psValueNumber(a[3], -1),
      };
    case 'PromptForChoiceMultipleSelection':
      return {
        method: name,
        caption: str(a[0]),
        message: str(a[1]),
        choices: decodeChoiceDescriptions(a[2]),
        defaultChoices: decodeIntCollection(a[3]),
      };
    case 'SetForegroundColor':
    case 'SetBackgroundColor':
      return { method: name, color: decodeColor(a[0]) };
    case 'SetCursorPosition':
    case 'SetWindowPosition':
      return { method: name, coordinates: decodeCoordinates(a[0]) };
    case 'SetCursorSize':
      return { method: name, cursorSize: psValueNumber(a[0], undefined) };
    case 'SetBufferSize':
    case 'SetWindowSize':
      return { method: name, size: decodeSize(a[0]) };
    case 'SetWindowTitle':
      return { method: name, title: str(a[0]) };
    case 'ReadKey':
      return { method: name, options: psValueNumber(a[0], 4) };
    case 'SetBufferContents1':
      return { method: name, rectangle: rectangle(a[0]), fill: bufferCell(a[1]) };
    case 'SetBufferContents2':
      return { method: name, origin: decodeCoordinates(a[0]), contents: a[1] ?? null };
    case 'GetBufferContents':
      return { method: name, rectangle: rectangle(a[0]) };
    case 'ScrollBufferContents':
      return {
        method: name,
        source: rectangle(a[0]),
        destination: decodeCoordinates(a[1]),
        clip: rectangle(a[2]),
        fill: bufferCell(a[3]),
      };
    case 'PushRunspace':
      return { method: name, runspace: a[0] ?? null };
    default:
      return { method: 'Unknown', methodId };
  }
}
