import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { deserializeClixmlDocument } from '../src/clixml/deserialize.ts';
import { serializeClixml, serializeClixmlDocument } from '../src/clixml/serialize.ts';
import { PSDictionary, PSList, PSObject, PSPrimitive, type PSValue, ps } from '../src/clixml/value.ts';
import { findTestPwsh } from './pwsh.ts';

const pwsh = findTestPwsh();

/** PowerShell expressions, each serialized by real pwsh, and what we must read from it. */
const FROM_PWSH: Array<[string, (v: PSValue) => void]> = [
  ["'hello'", (v) => expect(v).toBe('hello')],
  ["''", (v) => expect(v).toBe('')],
  ['"line1`nline2`ttab"', (v) => expect(v).toBe('line1\nline2\ttab')],
  ["'_x0041_ literal'", (v) => expect(v).toBe('_x0041_ literal')],
  ["'<&>\"'''", (v) => expect(v).toBe('<&>"\'')],
  ['"emoji 🎵"', (v) => expect(v).toBe('emoji 🎵')],
  ['[string][char]0xD800', (v) => expect(v).toBe('\ud800')],
  ['[char]97', (v) => expect(v).toEqual(new PSPrimitive('C', 'a'))],
  ['$true', (v) => expect(v).toBe(true)],
  ['[int]::MinValue', (v) => expect(v).toBe(-2147483648)],
  ['[int]::MaxValue', (v) => expect(v).toBe(2147483647)],
  ['[long]::MinValue', (v) => expect(v).toEqual(ps.int64(-(2n ** 63n)))],
  ['[uint64]::MaxValue', (v) => expect(v).toEqual(ps.uint64(2n ** 64n - 1n))],
  ['[uint32]4000000000', (v) => expect(v).toEqual(ps.uint32(4000000000))],
  ['[int16]-5', (v) => expect(v).toEqual(ps.int16(-5))],
  ['[uint16]65535', (v) => expect(v).toEqual(ps.uint16(65535))],
  ['[byte]255', (v) => expect(v).toEqual(ps.byte(255))],
  ['[sbyte]-128', (v) => expect(v).toEqual(ps.sbyte(-128))],
  ['1.5', (v) => expect(v).toEqual(ps.double(1.5))],
  ['[double]::NaN', (v) => expect(Number.isNaN((v as PSPrimitive).value)).toBe(true)],
  ['[double]::PositiveInfinity', (v) => expect(v).toEqual(ps.double(Number.POSITIVE_INFINITY))],
  ['[double]::NegativeInfinity', (v) => expect(v).toEqual(ps.double(Number.NEGATIVE_INFINITY))],
  ['1e300', (v) => expect(v).toEqual(ps.double(1e300))],
  ['[float]0.25', (v) => expect(v).toEqual(ps.single(0.25))],
  [
    '[decimal]::Parse("79228162514264337593543950335")',
    (v) => expect(v).toEqual(ps.decimal('79228162514264337593543950335')),
  ],
  [
    '[datetime]::new(2020,1,2,3,4,5,[DateTimeKind]::Utc)',
    (v) => expect(v).toEqual(ps.dateTime('2020-01-02T03:04:05Z')),
  ],
  [
    '[datetime]::new(2020,1,2,3,4,5,[DateTimeKind]::Unspecified)',
    (v) => expect(v).toEqual(ps.dateTime('2020-01-02T03:04:05')),
  ],
  ['[timespan]::new(1,2,3,4,5)', (v) => expect(v).toEqual(ps.timeSpan('P1DT2H3M4.005S'))],
  ['[timespan]::FromSeconds(-1.5)', (v) => expect(v).toEqual(ps.timeSpan('-PT1.5S'))],
  [',[byte[]](1,2,3)', (v) => expect(Array.from((v as PSPrimitive<'BA'>).value)).toEqual([1, 2, 3])],
  [
    "[guid]'6e6c30a5-38a2-4c4b-9b7f-1e1d3d7a5a11'",
    (v) => expect(v).toEqual(ps.guid('6e6c30a5-38a2-4c4b-9b7f-1e1d3d7a5a11')),
  ],
  ["[uri]'https://example.test/a b'", (v) => expect(v).toEqual(ps.uri('https://example.test/a b'))],
  ["[version]'1.2.3.4'", (v) => expect(v).toEqual(ps.version('1.2.3.4'))],
  [
    "[semver]'7.6.9-rc.1'",
    (v) => {
      // pwsh 7.6 writes a SemanticVersion as an object, not as the <SemanticVersion> primitive tag.
      expect((v as PSObject).typeNames[0]).toBe('System.Management.Automation.SemanticVersion');
      expect(String(v)).toBe('7.6.9-rc.1');
    },
  ],
  ['{ Get-Date }', (v) => expect(v).toEqual(ps.scriptBlock(' Get-Date '))],
  ["[xml]'<a>1</a>'", (v) => expect(v).toEqual(new PSPrimitive('XD', '<a>1</a>'))],
  [
    '[System.DayOfWeek]::Friday',
    (v) => {
      expect(v).toBeInstanceOf(PSObject);
      const o = v as PSObject;
      expect(o.typeNames[0]).toBe('System.DayOfWeek');
      expect(o.toString()).toBe('Friday');
      expect(o.baseValue).toBe(5);
    },
  ],
  [
    '@{ a = 1; b = "two" }',
    (v) => {
      const d = (v as PSObject).baseValue as PSDictionary;
      expect(d).toBeInstanceOf(PSDictionary);
      expect(d.get('a')).toBe(1);
      expect(d.get('B')).toBe('two');
    },
  ],
  [
    '[ordered]@{ z = 1; y = 2 }',
    (v) => expect(((v as PSObject).baseValue as PSDictionary).entries.map(([k]) => k)).toEqual(['z', 'y']),
  ],
  [
    '[System.Collections.ArrayList]@(1, "x", $null)',
    (v) => expect(((v as PSObject).baseValue as PSList).items).toEqual([1, 'x', null]),
  ],
  [
    ',@(1, @(2, 3))',
    (v) => {
      const outer = ((v as PSObject).baseValue as PSList).items;
      expect(outer[0]).toBe(1);
      expect(((outer[1] as PSObject).baseValue as PSList).items).toEqual([2, 3]);
    },
  ],
  [
    '$s = [System.Collections.Stack]::new(); $s.Push(1); $s.Push(2); ,$s',
    (v) => {
      const l = (v as PSObject).baseValue as PSList;
      expect(l.kind).toBe('STK');
      expect(l.items).toEqual([2, 1]);
    },
  ],
  [
    '$q = [System.Collections.Queue]::new(); $q.Enqueue("a"); $q.Enqueue("b"); ,$q',
    (v) => expect((v as PSObject).baseValue as PSList).toEqual(new PSList('QUE', ['a', 'b'])),
  ],
  [
    '[pscustomobject]@{ Name = "n"; Count = 3; Nested = [pscustomobject]@{ X = 1 } }',
    (v) => {
      const o = v as PSObject;
      expect(o.typeNames).toEqual(['System.Management.Automation.PSCustomObject', 'System.Object']);
      expect(o.get('name')).toBe('n');
      expect(o.get('Count')).toBe(3);
      expect((o.get('Nested') as PSObject).get('X')).toBe(1);
    },
  ],
  [
    '$x = [pscustomobject]@{ V = 1 }; [pscustomobject]@{ A = $x; B = $x }',
    (v) => {
      const o = v as PSObject;
      expect(o.get('A')).toBe(o.get('B'));
    },
  ],
  [
    'Get-Item /',
    (v) => {
      const o = v as PSObject;
      expect(o.isA('System.IO.DirectoryInfo')).toBe(true);
      expect(o.adapted.get('FullName')).toBe('/');
      expect(o.extended.has('PSProvider') || o.extended.has('PSPath')).toBe(true);
    },
  ],
  [
    'try { Get-Item /definitely/missing -ErrorAction Stop } catch { $_ }',
    (v) => {
      const o = v as PSObject;
      expect(o.isA('System.Management.Automation.ErrorRecord')).toBe(true);
      expect(o.get('FullyQualifiedErrorId')).toBe(
        'PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand',
      );
    },
  ],
  [
    "[System.Management.Automation.ProgressRecord]::new(1, 'act', 'stat')",
    (v) => expect((v as PSObject).get('Activity')).toBe('act'),
  ],
  ['$null', (v) => expect(v).toBeNull()],
];

describe.skipIf(!pwsh)('CLIXML written by real pwsh', () => {
  const script = `$exprs = [Console]::In.ReadToEnd() | ConvertFrom-Json
foreach ($e in $exprs) {
  $v = Invoke-Expression $e
  [Console]::Out.WriteLine(([System.Management.Automation.PSSerializer]::Serialize($v, 2) -replace "\`r?\`n", ' '))
}`;
  it(`deserializes ${FROM_PWSH.length} types to the right values`, () => {
    const out = execPwsh(script, JSON.stringify(FROM_PWSH.map(([e]) => e)));
    const docs = out.split('\n').filter((l) => l.startsWith('<Objs'));
    expect(docs).toHaveLength(FROM_PWSH.length);
    FROM_PWSH.forEach(([expr, check], i) => {
      const values = deserializeClixmlDocument(docs[i] as string);
      try {
        expect(values).toHaveLength(1);
        check(values[0] as PSValue);
      } catch (e) {
        throw new Error(`${expr}: ${(e as Error).message}`);
      }
    });
  });

  it('what we serialize, pwsh reads back equal', () => {
    const ours: Array<[PSValue, string]> = [
      ['text with _x0041_ and \n newline and <&>', 'System.String|text with _x0041_ and \n newline and <&>'],
      ['🎵', 'System.String|🎵'],
      [42, 'System.Int32|42'],
      [1.25, 'System.Double|1.25'],
      [1e21, 'System.Double|1E+21'],
      [true, 'System.Boolean|True'],
      [ps.int64(-(2n ** 63n)), 'System.Int64|-9223372036854775808'],
      [ps.uint64(2n ** 64n - 1n), 'System.UInt64|18446744073709551615'],
      [ps.char('z'), 'System.Char|z'],
      [ps.byte(7), 'System.Byte|7'],
      [ps.decimal('1.10'), 'System.Decimal|1.10'],
      [ps.guid('6e6c30a5-38a2-4c4b-9b7f-1e1d3d7a5a11'), 'System.Guid|6e6c30a5-38a2-4c4b-9b7f-1e1d3d7a5a11'],
      [ps.version('1.2.3'), 'System.Version|1.2.3'],
      [ps.timeSpan('PT1H2M3S'), 'System.TimeSpan|01:02:03'],
      [ps.bytes(Uint8Array.of(9, 8)), 'System.Byte[]|9 8'],
      [ps.double(Number.NEGATIVE_INFINITY), 'System.Double|-Infinity'],
      [
        new PSObject({
          typeNames: ['System.Collections.Hashtable', 'System.Object'],
          baseValue: new PSDictionary([['k', 'v']]),
        }),
        'System.Collections.Hashtable|k=v',
      ],
      [
        new PSObject({
          typeNames: ['System.Object[]', 'System.Array', 'System.Object'],
          baseValue: new PSList('LST', [1, 'two']),
        }),
        'System.Collections.ArrayList|1 two',
      ],
      [
        new PSObject({
          extended: [
            ['Name', 'n'],
            ['Value', 5],
          ],
        }),
        'System.Management.Automation.PSCustomObject|@{Name=n; Value=5}',
      ],
    ];
    const docs = ours.map(([v]) => serializeClixmlDocument([v]).replace(/\n/g, '&#10;'));
    const script2 = `foreach ($line in ([Console]::In.ReadToEnd() -split "\`n")) {
  if (-not $line) { continue }
  $v = [System.Management.Automation.PSSerializer]::Deserialize($line)
  $t = if ($null -eq $v) { 'null' } elseif ($v -is [psobject] -and $v.PSObject.BaseObject -is [psobject] -and $v.PSTypeNames[0] -like '*PSCustomObject') { 'System.Management.Automation.PSCustomObject' } else { $v.GetType().FullName }
  $s = if ($v -is [hashtable]) { ($v.GetEnumerator() | % { "$($_.Key)=$($_.Value)" }) -join ',' } elseif ($v -is [System.Collections.IEnumerable] -and $v -isnot [string]) { "$v" } else { "$v" }
  [Console]::Out.WriteLine((($t + '|' + $s) -replace "\`n", '\\n'))
}`;
    const out = execPwsh(script2, `${docs.join('\n')}\n`)
      .split('\n')
      .filter(Boolean);
    expect(out).toEqual(ours.map(([, want]) => want.replace(/\n/g, '\\n')));
    expect(serializeClixml(42)).toBe('<I32>42</I32>');
  });
});

function execPwsh(script: string, input: string): string {
  return execFileSync(pwsh as string, ['-NoProfile', '-NonInteractive', '-Command', script], {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
}
