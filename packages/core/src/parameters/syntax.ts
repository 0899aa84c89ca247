import { ENTER_PSSESSION_METADATA } from './enter-pssession-metadata.ts';
import { ALL_SETS, type CommandMetadata, NAMED } from './metadata-types.ts';

const SHORT: Record<string, string> = {
  'System.String': 'string',
  'System.Int32': 'int',
  'System.Guid': 'guid',
  'System.Uri': 'uri',
  'System.Collections.Hashtable': 'hashtable',
  'System.Management.Automation.PSCredential': 'pscredential',
  'System.Management.Automation.Runspaces.PSSession': 'PSSession',
  'System.Management.Automation.Remoting.PSSessionOption': 'PSSessionOption',
  'System.Management.Automation.Runspaces.AuthenticationMechanism': 'AuthenticationMechanism',
};

/** The SYNTAX section, one block per parameter set, as Get-Help prints it. */
export function renderSyntax(meta: CommandMetadata = ENTER_PSSESSION_METADATA): string {
  const blocks: string[] = [];
  for (const set of meta.parameterSets) {
    const parts: string[] = [meta.command];
    const inSet = meta.parameters
      .filter((p) => !p.isCommon)
      .map((p) => ({ p, s: p.sets.find((s) => s.name === set || s.name === ALL_SETS) }))
      .filter(
        (x): x is { p: (typeof meta.parameters)[number]; s: NonNullable<(typeof x)['s']> } =>
          x.s !== undefined,
      )
      .sort((a, b) => {
        const pa = a.s.position === NAMED ? 1e9 : a.s.position;
        const pb = b.s.position === NAMED ? 1e9 : b.s.position;
        if (pa !== pb) return pa - pb;
        if (a.s.mandatory !== b.s.mandatory) return a.s.mandatory ? -1 : 1;
        return 0;
      });
    for (const { p, s } of inSet) {
      const type = SHORT[p.type] ?? p.type.split('.').pop();
      const name = s.position === NAMED ? `-${p.name}` : `[-${p.name}]`;
      const body = p.isSwitch ? `-${p.name}` : `${name} <${type}>`;
      parts.push(s.mandatory ? body : `[${body}]`);
    }
    parts.push('[<CommonParameters>]');
    blocks.push(`    ${parts.join(' ')}`);
  }
  return blocks.join('\n\n');
}
