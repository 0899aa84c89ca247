import type { SessionInfo } from '@psremote/core';

/** PSSession's columns as pwsh shows them: Transport, ComputerType and ConfigurationName by transport. */
const KIND: Readonly<Record<string, readonly [string, string, string]>> = {
  ssh: ['SSH', 'RemoteMachine', 'DefaultShell'],
  winrm: ['WSMan', 'RemoteMachine', 'Microsoft.PowerShell'],
  container: ['Container', 'Container', ''],
  hyperv: ['VMBus', 'VirtualMachine', ''],
  process: ['Process', 'RemoteMachine', ''],
};

/**
 * The PSSession table view (PowerShellCore_format_ps1xml.cs, view "PSSession"): fixed widths, Id and
 * Availability right-aligned, a value too wide cut with an ellipsis, a blank line before and after, as
 * New-PSSession and Get-PSSession print it. Nothing at all for no sessions.
 */
export function formatSessionTable(rows: readonly SessionInfo[]): string {
  if (rows.length === 0) return '';
  const cols: { label: string; width: number; right?: boolean }[] = [
    { label: 'Id', width: 3, right: true },
    { label: 'Name', width: 15 },
    { label: 'Transport', width: 9 },
    { label: 'ComputerName', width: 15 },
    { label: 'ComputerType', width: 15 },
    { label: 'State', width: 13 },
    { label: 'ConfigurationName', width: 20 },
    { label: 'Availability', width: 13, right: true },
  ];
  const cell = (text: string, c: { width: number; right?: boolean }) => {
    const t = text.length > c.width ? `${text.slice(0, c.width - 1)}\u2026` : text;
    return c.right ? t.padStart(c.width) : t.padEnd(c.width);
  };
  const line = (values: string[]) =>
    values
      .map((v, i) => cell(v, cols[i] as (typeof cols)[number]))
      .join(' ')
      .trimEnd();
  const out = [
    '',
    line(cols.map((c) => c.label)),
    line(cols.map((c) => '-'.repeat(c.label.length))),
    ...rows.map((r) => {
      const [transport, computerType, configuration] = KIND[r.transport] ?? [
        r.transport,
        'RemoteMachine',
        '',
      ];
      return line([
        String(r.id),
        r.name,
        transport,
        r.computerName,
        computerType,
        r.state,
        configuration,
        r.availability,
      ]);
    }),
    '',
  ];
  return `${out.join('\n')}\n`;
}
