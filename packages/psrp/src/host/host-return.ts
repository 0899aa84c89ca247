import { PSDictionary, PSList, PSObject, PSPrimitive, type PSValue } from '../clixml/value.ts';
import { coordinatesObject, sizeObject } from '../message/codecs/host-info.ts';

/**
 * What a client answers to a host call, in typed JS form; the engine encodes it (SecureStrings need the
 * session key, which may not exist yet).
 */
export type HostReturn =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'secureString'; readonly value: string }
  | { readonly kind: 'credential'; readonly userName: string; readonly password: string }
  | { readonly kind: 'int32'; readonly value: number }
  | { readonly kind: 'int32Collection'; readonly values: readonly number[] }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'color'; readonly value: number }
  | { readonly kind: 'size'; readonly width: number; readonly height: number }
  | { readonly kind: 'coordinates'; readonly x: number; readonly y: number }
  | {
      readonly kind: 'keyInfo';
      readonly virtualKeyCode: number;
      readonly character: string;
      readonly controlKeyState: number;
      readonly keyDown: boolean;
    }
  | { readonly kind: 'promptResult'; readonly entries: ReadonlyArray<readonly [string, HostReturn | null]> }
  | { readonly kind: 'stringArray'; readonly values: readonly string[] }
  | { readonly kind: 'value'; readonly value: PSValue };

export type HostCallResult =
  | { readonly value: HostReturn }
  | { readonly error: { readonly message: string; readonly errorId?: string } };

export function returnNeedsSessionKey(r: HostReturn | null): boolean {
  if (!r) return false;
  if (r.kind === 'secureString' || r.kind === 'credential') return true;
  if (r.kind === 'promptResult') return r.entries.some(([, v]) => returnNeedsSessionKey(v));
  return false;
}

/** Encodes a HostReturn to CLIXML values; `encryptSecure` turns plain text into `<SS>` text. */
export function encodeHostReturn(r: HostReturn | null, encryptSecure: (plain: string) => string): PSValue {
  if (r === null) return null;
  switch (r.kind) {
    case 'string':
      return r.value;
    case 'secureString':
      return new PSPrimitive('SS', encryptSecure(r.value));
    case 'credential':
      return new PSObject({
        typeNames: ['System.Management.Automation.PSCredential', 'System.Object'],
        toStringValue: 'System.Management.Automation.PSCredential',
        adapted: [
          ['UserName', r.userName],
          ['Password', new PSPrimitive('SS', encryptSecure(r.password))],
        ],
      });
    case 'int32':
      return r.value;
    case 'int32Collection':
      return new PSObject({
        typeNames: [
          'System.Collections.ObjectModel.Collection`1[[System.Int32, System.Private.CoreLib, Version=4.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e]]',
          'System.Object',
        ],
        baseValue: new PSList('LST', [...r.values]),
      });
    case 'boolean':
      return r.value;
    case 'color':
      // RemoteHostEncoder.EncodeObject sends an enum as its Int32 (and DecodeObject only takes an int for one).
      return r.value;
    case 'size':
      return sizeObject(r);
    case 'coordinates':
      return coordinatesObject(r);
    case 'keyInfo':
      return new PSObject({
        extended: [
          ['virtualKeyCode', r.virtualKeyCode],
          ['character', new PSPrimitive('C', r.character || '\0')],
          // An enum field goes as its Int32: the server decodes nothing else (RemoteHostEncoder.DecodeObject).
          ['controlKeyState', r.controlKeyState],
          ['keyDown', r.keyDown],
        ],
      });
    case 'stringArray':
      return new PSObject({
        typeNames: ['System.String[]', 'System.Array', 'System.Object'],
        baseValue: new PSList('LST', [...r.values]),
      });
    case 'promptResult':
      return new PSObject({
        typeNames: [
          'System.Collections.Generic.Dictionary`2[[System.String, System.Private.CoreLib, Version=4.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e],[System.Management.Automation.PSObject, System.Management.Automation, Version=3.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35]]',
          'System.Object',
        ],
        baseValue: new PSDictionary(r.entries.map(([k, v]) => [k, encodeHostReturn(v, encryptSecure)])),
      });
    case 'value':
      return r.value;
  }
}

/**
 * The ErrorRecord of a host call the client could not honour (`me`), as PowerShell's host gives it back:
 * a HostException, FQEID RemoteHostExecutionException (RemoteHost.cs).
 */
export function hostErrorRecord(message: string, errorId = 'RemoteHostExecutionException'): PSObject {
  const exception = new PSObject({
    typeNames: [
      'System.Management.Automation.Host.HostException',
      'System.Management.Automation.RuntimeException',
      'System.SystemException',
      'System.Exception',
      'System.Object',
    ],
    toStringValue: `System.Management.Automation.Host.HostException: ${message}`,
    adapted: [
      ['Message', message],
      [
        'Data',
        new PSObject({
          typeNames: ['System.Collections.ListDictionaryInternal', 'System.Object'],
          baseValue: new PSDictionary(),
        }),
      ],
      ['InnerException', null],
      ['TargetSite', null],
      ['StackTrace', null],
      ['HelpLink', null],
      ['Source', null],
      ['HResult', -2146233087],
    ],
  });
  return new PSObject({
    typeNames: ['System.Management.Automation.ErrorRecord', 'System.Object'],
    toStringValue: message,
    extended: [
      ['Exception', exception],
      ['TargetObject', null],
      ['FullyQualifiedErrorId', errorId],
      ['InvocationInfo', null],
      ['ErrorCategory_Category', 0],
      ['ErrorCategory_Activity', ''],
      ['ErrorCategory_Reason', 'HostException'],
      ['ErrorCategory_TargetName', ''],
      ['ErrorCategory_TargetType', ''],
      ['ErrorCategory_Message', 'NotSpecified: (:) [], HostException'],
      ['SerializeExtendedInfo', false],
    ],
  });
}
