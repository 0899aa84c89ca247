/** RemoteHostMethodId (MS-PSRP 2.2.3.17; RemoteHostMethodInfo.cs). */
export const HOST_METHOD_NAMES: readonly string[] = [
  '',
  'GetName',
  'GetVersion',
  'GetInstanceId',
  'GetCurrentCulture',
  'GetCurrentUICulture',
  'SetShouldExit',
  'EnterNestedPrompt',
  'ExitNestedPrompt',
  'NotifyBeginApplication',
  'NotifyEndApplication',
  'ReadLine',
  'ReadLineAsSecureString',
  'Write1',
  'Write2',
  'WriteLine1',
  'WriteLine2',
  'WriteLine3',
  'WriteErrorLine',
  'WriteDebugLine',
  'WriteProgress',
  'WriteVerboseLine',
  'WriteWarningLine',
  'Prompt',
  'PromptForCredential1',
  'PromptForCredential2',
  'PromptForChoice',
  'GetForegroundColor',
  'SetForegroundColor',
  'GetBackgroundColor',
  'SetBackgroundColor',
  'GetCursorPosition',
  'SetCursorPosition',
  'GetWindowPosition',
  'SetWindowPosition',
  'GetCursorSize',
  'SetCursorSize',
  'GetBufferSize',
  'SetBufferSize',
  'GetWindowSize',
  'SetWindowSize',
  'GetWindowTitle',
  'SetWindowTitle',
  'GetMaxWindowSize',
  'GetMaxPhysicalWindowSize',
  'GetKeyAvailable',
  'ReadKey',
  'FlushInputBuffer',
  'SetBufferContents1',
  'SetBufferContents2',
  'GetBufferContents',
  'ScrollBufferContents',
  'PushRunspace',
  'PopRunspace',
  'GetIsRunspacePushed',
  'GetRunspace',
  'PromptForChoiceMultipleSelection',
];

export function hostMethodName(id: number): string {
  return HOST_METHOD_NAMES[id] || `Unknown${id}`;
}

export function hostMethodId(name: string): number {
  return HOST_METHOD_NAMES.indexOf(name);
}

/** Void methods carry call id -100 and get no response (DispatchTable.cs). */
export const VOID_CALL_ID = -100n;
