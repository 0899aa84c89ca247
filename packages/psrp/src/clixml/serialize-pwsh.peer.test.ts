// What we serialize, real pwsh reads back as what we meant: every case below is written by serializeClixml (the
// remoting form, wrapped in <Objs> as PSSerializer wants) or serializeClixmlDocument, then ONE pwsh process
// deserializes them all and describes each value (type, canonical text, type names, properties, items).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { findTestPwsh } from '../../test/pwsh.ts';
import { psEnum } from '../message/codecs/enum.ts';
import {
  psArray,
  psArrayList,
  psCustomObject,
  psHashtable,
  psOrderedDictionary,
  psQueue,
  psStack,
} from './builders.ts';
import { encodeClixmlString } from './escape.ts';
import { serializeClixml, serializeClixmlDocument, serializeProperties } from './serialize.ts';
import { PSObject, PSPrimitive, type PSValue, ps } from './value.ts';

/** pwsh's description of one deserialized value (see DESCRIBE). */
interface Described {
  t: string;
  s?: string;
  tn?: string[];
  ts?: string;
  p?: Array<{ n: string; v: Described }>;
  i?: Described[];
  e?: Array<{ k: Described; v: Described }>;
  same?: boolean;
  self?: boolean;
}

const codes = (s: string) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i)).join(',');
const str = (s: string): Partial<Described> => ({ t: 'System.String', s: codes(s) });
const prim = (t: string, s: string): Partial<Described> => ({ t: `System.${t}`, s });

const shared = psCustomObject([['V', 1]]);
const cyclic = psCustomObject([['Name', 'loop']]);
cyclic.extended.set('Self', cyclic);
const extendedString = new PSObject({
  typeNames: ['My.Text', 'System.String', 'System.Object'],
  baseValue: 'base',
  extended: [['Extra', 42]],
});
const NASTY = 'a_x0041_b\n\r\t\0\u0085\u007f\u009f<&>"\'🎵\ud800|\udc00_X_x\uffff\u00e9 ';

/** [value, what pwsh must report (a subset, compared with toMatchObject)] */
const CASES: Array<[string, PSValue, Partial<Described>]> = [
  ['S plain', 'hello', str('hello')],
  ['S empty', '', str('')],
  ['S every escape case', NASTY, str(NASTY)],
  [
    'S literal escapes',
    '_x0041_ _X0041_ _x005F_ _xD83C__xDFB5_',
    str('_x0041_ _X0041_ _x005F_ _xD83C__xDFB5_'),
  ],
  ['C', ps.char('\u00e9'), prim('Char', '233')],
  ['C control', ps.char('\n'), prim('Char', '10')],
  ['B', true, prim('Boolean', 'True')],
  ['I32', -2147483648, prim('Int32', '-2147483648')],
  ['number not int32', 2147483648, prim('Double', '2147483648')],
  ['Db fraction', 0.1, prim('Double', '0.1')],
  ['Db big', 1e21, prim('Double', '1E+21')],
  ['Db 1e16', ps.double(1e16), prim('Double', '10000000000000000')],
  ['Db tiny', 5e-324, prim('Double', '5E-324')],
  ['Db -0', -0, prim('Double', '-0')],
  ['Db NaN', Number.NaN, prim('Double', 'NaN')],
  ['Db +Inf', Number.POSITIVE_INFINITY, prim('Double', 'Infinity')],
  ['Db -Inf', ps.double(Number.NEGATIVE_INFINITY), prim('Double', '-Infinity')],
  ['Db max', Number.MAX_VALUE, prim('Double', '1.7976931348623157E+308')],
  ['Db integral', ps.double(3), prim('Double', '3')],
  ['Sg', ps.single(0.1), prim('Single', '0.1')],
  ['Sg max', ps.single(3.4028234663852886e38), prim('Single', '3.4028235E+38')],
  ['By', ps.byte(255), prim('Byte', '255')],
  ['SB', ps.sbyte(-128), prim('SByte', '-128')],
  ['U16', ps.uint16(65535), prim('UInt16', '65535')],
  ['I16', ps.int16(-32768), prim('Int16', '-32768')],
  ['U32', ps.uint32(4294967295), prim('UInt32', '4294967295')],
  ['U64', ps.uint64(2n ** 64n - 1n), prim('UInt64', '18446744073709551615')],
  ['I64', ps.int64(-(2n ** 63n)), prim('Int64', '-9223372036854775808')],
  ['D', ps.decimal('-79228162514264337593543950335'), prim('Decimal', '-79228162514264337593543950335')],
  [
    'D fraction',
    ps.decimal('0.0000000000000000000000000001'),
    prim('Decimal', '0.0000000000000000000000000001'),
  ],
  [
    'DT utc',
    ps.dateTime('2020-01-02T03:04:05.1234567Z'),
    prim('DateTime', '2020-01-02T03:04:05.1234567Z|Utc'),
  ],
  [
    'DT unspecified',
    ps.dateTime('2020-01-02T03:04:05'),
    prim('DateTime', '2020-01-02T03:04:05.0000000|Unspecified'),
  ],
  ['TS', ps.timeSpan('-P1DT2H3M4.5S'), prim('TimeSpan', '-1.02:03:04.5000000')],
  ['BA', ps.bytes(Uint8Array.of(0, 1, 254, 255)), prim('Byte[]', 'AAH+/w==')],
  ['BA empty', ps.bytes(new Uint8Array(0)), prim('Byte[]', '')],
  [
    'G',
    ps.guid('6E6C30A5-38A2-4C4B-9B7F-1E1D3D7A5A11'),
    prim('Guid', '6e6c30a5-38a2-4c4b-9b7f-1e1d3d7a5a11'),
  ],
  ['URI', ps.uri('https://example.test/a_x0041_?q=<&>'), prim('Uri', 'https://example.test/a_x0041_?q=<&>')],
  ['Version', ps.version('1.2.3.4'), prim('Version', '1.2.3.4')],
  // A deserialized script block is a string (PowerShell never rehydrates code).
  ['SBK', ps.scriptBlock('Get-Date | % { "$_`t_x0041_" }\n'), str('Get-Date | % { "$_`t_x0041_" }\n')],
  [
    'XD',
    new PSPrimitive('XD', '<r a="1">x &amp; _x0041_</r>'),
    prim('Xml.XmlDocument', '<r a="1">x &amp; _x0041_</r>'),
  ],
  ['Nil', null, { t: 'null' }],
  [
    'PSCustomObject with escaped names',
    psCustomObject([
      ['a_x0041_\tb', 1],
      ['with space <&>"', 'v'],
      ['🎵', null],
    ]),
    {
      t: 'System.Management.Automation.PSCustomObject',
      tn: ['Deserialized.System.Management.Automation.PSCustomObject', 'Deserialized.System.Object'],
      p: [
        { n: 'a_x0041_\tb', v: { t: 'System.Int32', s: '1' } },
        { n: 'with space <&>"', v: str('v') as Described },
        { n: '🎵', v: { t: 'null' } },
      ],
    },
  ],
  [
    'type names and ToString with escapes',
    new PSObject({
      typeNames: ['My_xType\t', 'System.Object'],
      toStringValue: 'shown\n_x0041_',
      extended: [['x', 1]],
    }),
    { tn: ['Deserialized.My_xType\t', 'Deserialized.System.Object'], ts: 'shown\n_x0041_' },
  ],
  [
    'Props and MS',
    new PSObject({
      typeNames: ['My.File', 'System.Object'],
      adapted: [['Length', ps.int64(5)]],
      extended: [['PSPath', 'p']],
    }),
    {
      // pwsh lists the note properties (MS) before the adapted ones (Props).
      p: [
        { n: 'PSPath', v: str('p') as Described },
        { n: 'Length', v: { t: 'System.Int64', s: '5' } },
      ],
      tn: ['Deserialized.My.File', 'Deserialized.System.Object'],
    },
  ],
  [
    'shared object is one object',
    psCustomObject([
      ['A', shared],
      ['B', shared],
    ]),
    { same: true },
  ],
  ['cycle', cyclic, { self: true }],
  [
    'hashtable with typed keys',
    psHashtable([
      ['k', 'v'],
      [1, ps.int64(2)],
      [ps.guid('00000000-0000-0000-0000-000000000001'), null],
    ]),
    {
      t: 'System.Collections.Hashtable',
      e: [
        { k: str('k') as Described, v: str('v') as Described },
        { k: { t: 'System.Int32', s: '1' }, v: { t: 'System.Int64', s: '2' } },
        { k: { t: 'System.Guid', s: '00000000-0000-0000-0000-000000000001' }, v: { t: 'null' } },
      ].sort((a, b) => a.k.t.localeCompare(b.k.t)),
    },
  ],
  [
    'ordered dictionary',
    psOrderedDictionary([
      ['z', 1],
      ['a', 2],
    ]),
    { t: 'System.Collections.Specialized.OrderedDictionary' },
  ],
  ['array', psArray([1, 'two', null, psArray([3])]), { t: 'System.Collections.ArrayList' }],
  [
    'ArrayList',
    psArrayList([ps.int64(1)]),
    { t: 'System.Collections.ArrayList', i: [{ t: 'System.Int64', s: '1' }] },
  ],
  [
    'Stack',
    psStack(['top', 'bottom']),
    { t: 'System.Collections.Stack', i: [str('top') as Described, str('bottom') as Described] },
  ],
  [
    'Queue',
    psQueue(['head', 2]),
    { t: 'System.Collections.Queue', i: [str('head') as Described, { t: 'System.Int32', s: '2' }] },
  ],
  [
    'enum',
    psEnum('System.DayOfWeek', 'Friday', 5),
    {
      t: 'System.Int32',
      s: '5',
      tn: [
        'Deserialized.System.DayOfWeek',
        'Deserialized.System.Enum',
        'Deserialized.System.ValueType',
        'Deserialized.System.Object',
      ],
    },
  ],
  [
    'extended primitive',
    extendedString,
    { t: 'System.String', s: codes('base'), p: [{ n: 'Extra', v: { t: 'System.Int32', s: '42' } }] },
  ],
];

/** Describes one deserialized value as JSON (strings as UTF-16 code lists, so lone surrogates survive). */
const DESCRIBE = `
$ErrorActionPreference = 'Stop'
$inv = [cultureinfo]::InvariantCulture
function Codes([string]$s) { ($s.ToCharArray() | ForEach-Object { [int]$_ }) -join ',' }
function D($v, [int]$depth) {
  if ($null -eq $v) { return [ordered]@{ t = 'null' } }
  $o = [ordered]@{ t = $v.GetType().FullName }
  if ($depth -gt 4) { return $o }
  $b = $v
  if ($v -is [string]) { $o.s = Codes $v }
  elseif ($v -is [char]) { $o.s = [string][int]$v }
  elseif ($v -is [double] -or $v -is [float]) { $o.s = $v.ToString('R', $inv) }
  elseif ($v -is [datetime]) { $o.s = $v.ToString('o', $inv) + '|' + $v.Kind }
  elseif ($v -is [timespan]) { $o.s = $v.ToString('c', $inv) }
  elseif ($v -is [byte[]]) { $o.s = [Convert]::ToBase64String($v) }
  elseif ($v -is [xml]) { $o.s = $v.OuterXml }
  elseif ($v -is [scriptblock]) { $o.s = $v.ToString() }
  elseif ($v -is [System.Collections.IDictionary]) {
    $o.e = @($v.GetEnumerator() | ForEach-Object { [ordered]@{ k = D $_.Key ($depth + 1); v = D $_.Value ($depth + 1) } } | Sort-Object { $_.k.t })
  }
  elseif ($v -is [System.Collections.IEnumerable]) { $o.i = @(foreach ($x in $v) { D $x ($depth + 1) }) }
  elseif ($v -is [ValueType] -or $v -is [version] -or $v -is [uri]) { $o.s = [string]::Format($inv, '{0}', $v) }
  $o.tn = @($v.pstypenames)
  # pwsh cannot ToString() a deserialized object that has <Props> but no <ToString>: report that.
  try { $o.ts = $v.ToString() } catch { $o.ts = '<no ToString>' }
  $props = @($v.psobject.Properties | Where-Object { $_.MemberType -in 'NoteProperty', 'Property' -and $_.IsGettable })
  if ($v -is [System.Management.Automation.PSCustomObject] -or $v.psobject.Properties.Match('*', 'NoteProperty').Count -gt 0) {
    $o.p = @(foreach ($p in $props) { if ($p.MemberType -eq 'NoteProperty' -or $v -is [System.Management.Automation.PSCustomObject]) { [ordered]@{ n = $p.Name; v = D $p.Value ($depth + 1) } } })
  }
  if ($v.psobject.Properties['A'] -and $v.psobject.Properties['B']) { $o.same = [object]::ReferenceEquals($v.A, $v.B) }
  if ($v.psobject.Properties['Self']) { $o.self = [object]::ReferenceEquals($v, $v.Self) }
  $o
}
foreach ($line in [Console]::In.ReadToEnd().Split([char]10)) {
  if (-not $line) { continue }
  $values = [System.Management.Automation.PSSerializer]::DeserializeAsList($line)
  [Console]::Out.WriteLine((ConvertTo-Json -Compress -Depth 30 -InputObject @(foreach ($x in $values) { D $x 0 })))
}
`;

const pwsh = findTestPwsh();
describe.skipIf(!pwsh)('CLIXML we write, real pwsh reads back', () => {
  let results: Described[][] = [];
  const docs = [
    ...CASES.map(
      ([, v]) =>
        `<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">${serializeClixml(v)}</Objs>`,
    ),
    serializeClixmlDocument(['one', 2, psCustomObject([['x', shared]]), null, shared]),
    `<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">${serializeProperties([
      ['a', 1],
      ['b', psArray(['x'])],
    ])}</Objs>`,
  ];

  it('one pwsh process reads every document', () => {
    for (const d of docs) expect(d).not.toContain('\n');
    const out = execFileSync(pwsh as string, ['-NoProfile', '-NonInteractive', '-Command', DESCRIBE], {
      input: `${docs.join('\n')}\n`,
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    results = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Described[]);
    expect(results).toHaveLength(docs.length);
  }, 60_000);

  it.each(CASES.map(([name, , want], i) => [name, i, want] as const))('%s', (_name, i, want) => {
    const got = results[i];
    expect(got).toHaveLength(1);
    expect((got as Described[])[0]).toMatchObject(want);
  });

  it('serializeClixmlDocument: several values, a Ref across them', () => {
    const got = results[CASES.length] as Described[];
    expect(got.map((d) => d.t)).toEqual([
      'System.String',
      'System.Int32',
      'System.Management.Automation.PSCustomObject',
      'null',
      'System.Management.Automation.PSCustomObject',
    ]);
  });

  it('serializeProperties: an <Obj><MS> property bag', () => {
    const got = (results[CASES.length + 1] as Described[])[0] as Described;
    expect(got.p?.map((p) => p.n)).toEqual(['a', 'b']);
  });

  it('N names are escaped like S text', () => {
    expect(serializeClixml('v', { name: 'a\tb_x' })).toBe(`<S N="${encodeClixmlString('a\tb_x')}">v</S>`);
  });
});
