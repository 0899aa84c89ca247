# Has real pwsh write CLIXML for the cases below and prints them as one JSON array on stdout:
#   [{ name, expr, depth, form, volatile, xml }]
# form: 'serializer' = [PSSerializer]::Serialize($value, depth); 'export' = Export-Clixml; 'outputformat' =
# `pwsh -OutputFormat xml` stdout. volatile: the text depends on the machine or the clock (time zone, inodes,
# paths), so a re-run is compared by structure only. Run it through clixml-fixtures.mjs, which writes the
# committed fixture file.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
[Console]::OutputEncoding = [System.Text.UTF8Encoding]::new($false)
$serializer = [System.Management.Automation.PSSerializer]

# name, expression, depth, volatile
$cases = @(
  ,@('string', "'hello'", 1, $false)
  ,@('string_empty', "''", 1, $false)
  ,@('string_control', '"a`0b`u{1}c`td`ne`rf`u{7f}g`u{85}h`u{9f}i`u{a0}j"', 1, $false)
  ,@('string_x_literal', "'_x0041_ and _X0041_ and _x and x_ and __x0020_'", 1, $false)
  ,@('string_emoji', '"music 🎵 face 😀 e-acute é"', 1, $false)
  ,@('string_lone_surrogate', '[string][char]0xD800 + "x" + [char]0xDC00', 1, $false)
  ,@('string_xml_specials', "'<a href=""x"">&amp; '' ]]> </a>'", 1, $false)
  ,@('char', "[char]'A'", 1, $false)
  ,@('char_nul', '[char]0', 1, $false)
  ,@('bool_true', '$true', 1, $false)
  ,@('bool_false', '$false', 1, $false)
  ,@('int_min', '[int]::MinValue', 1, $false)
  ,@('int_max', '[int]::MaxValue', 1, $false)
  ,@('long_min', '[long]::MinValue', 1, $false)
  ,@('long_max', '[long]::MaxValue', 1, $false)
  ,@('uint64_max', '[uint64]::MaxValue', 1, $false)
  ,@('uint32_max', '[uint32]::MaxValue', 1, $false)
  ,@('int16_min', '[int16]::MinValue', 1, $false)
  ,@('uint16_max', '[uint16]::MaxValue', 1, $false)
  ,@('byte_max', '[byte]255', 1, $false)
  ,@('sbyte_min', '[sbyte]-128', 1, $false)
  ,@('doubles', ',@(1.5, 1e20, 0.1, -0.0, 1e15, 1e16, 1e-5, [double]::Epsilon, [double]::MaxValue, [double]::MinValue, 123456789.123)', 1, $false)
  ,@('double_nan', '[double]::NaN', 1, $false)
  ,@('double_inf', '[double]::PositiveInfinity', 1, $false)
  ,@('double_neg_inf', '[double]::NegativeInfinity', 1, $false)
  ,@('singles', ',@([float]0.1, [float]::MaxValue, [float]1.5, [float]::NaN, [float]::NegativeInfinity)', 1, $false)
  ,@('decimal_max', '[decimal]::MaxValue', 1, $false)
  ,@('decimal_small', '[decimal]::Parse("-0.0000000000000000000000000001", [cultureinfo]::InvariantCulture)', 1, $false)
  ,@('decimal_trailing_zero', '[decimal]::Parse("1.10", [cultureinfo]::InvariantCulture)', 1, $false)
  ,@('datetime_utc', '[datetime]::new(2020, 1, 2, 3, 4, 5, [DateTimeKind]::Utc).AddTicks(1234567)', 1, $false)
  ,@('datetime_unspecified', '[datetime]::new(2020, 1, 2, 3, 4, 5, [DateTimeKind]::Unspecified)', 1, $false)
  ,@('datetime_local', '[datetime]::new(2020, 7, 2, 3, 4, 5, [DateTimeKind]::Local)', 1, $true)
  ,@('datetime_min', '[datetime]::MinValue', 1, $false)
  ,@('timespan_days', '[timespan]::new(1, 2, 3, 4, 5)', 1, $false)
  ,@('timespan_negative', '[timespan]::FromSeconds(-1.5)', 1, $false)
  ,@('timespan_zero', '[timespan]::Zero', 1, $false)
  ,@('timespan_ticks', '[timespan]::new(1)', 1, $false)
  ,@('bytes', ',[byte[]](0, 1, 2, 254, 255)', 1, $false)
  ,@('bytes_empty', ',[byte[]]@()', 1, $false)
  ,@('guid', "[guid]'6E6C30A5-38A2-4C4B-9B7F-1E1D3D7A5A11'", 1, $false)
  ,@('uri', "[uri]'https://example.test/a b?q=1&r=_x0041_'", 1, $false)
  ,@('version2', "[version]'1.2'", 1, $false)
  ,@('version4', "[version]'1.2.3.4'", 1, $false)
  ,@('semver', "[semver]'7.6.9-rc.1+build.5'", 1, $false)
  ,@('scriptblock', '{ Get-Date | % { "$_`t<x>" } }', 1, $false)
  ,@('xmldocument', "[xml]'<root a=""1""><b>text &amp; more</b></root>'", 1, $false)
  ,@('enum', '[System.DayOfWeek]::Friday', 1, $false)
  ,@('enum_flags', '[System.IO.FileAttributes]"ReadOnly, Hidden"', 1, $false)
  ,@('hashtable', '@{ key = "value" }', 1, $false)
  ,@('hashtable_typed_keys', '$h = [ordered]@{}; $h.Add(1, "int"); $h.Add("1", "string"); $h.Add([guid]::Empty, $null); $h', 1, $false)
  ,@('ordered', '[ordered]@{ z = 1; y = "two"; x = $null }', 1, $false)
  ,@('arraylist', ',[System.Collections.ArrayList]@(1, "x", $null, $true)', 1, $false)
  ,@('array', ',@(1, 2, 3)', 1, $false)
  ,@('array_empty', ',@()', 1, $false)
  ,@('nested_arrays', ',@(1, @(2, @(3, 4)), "s")', 2, $false)
  ,@('nested_arrays_depth1', ',@(1, @(2, @(3, 4)))', 1, $false)
  ,@('generic_list', '$l = [System.Collections.Generic.List[int]]::new(); $l.Add(7); $l.Add(8); ,$l', 1, $false)
  ,@('stack', '$s = [System.Collections.Stack]::new(); $s.Push(1); $s.Push("two"); ,$s', 1, $false)
  ,@('queue', '$q = [System.Collections.Queue]::new(); $q.Enqueue("a"); $q.Enqueue(2); ,$q', 1, $false)
  ,@('pscustomobject', '[pscustomobject]@{ Name = "n"; Count = 3; Nested = [pscustomobject]@{ X = 1.5; Y = @("a", "b") } }', 2, $false)
  ,@('pscustomobject_names', '$o = [pscustomobject]@{ "a_x0041_`tb" = 1; "with space <&>" = 2 }; $o.pstypenames.Insert(0, "My_xType`t"); $o', 1, $false)
  ,@('ref_twice', '$x = [pscustomobject]@{ V = 1 }; [pscustomobject]@{ A = $x; B = $x; C = @($x, $x) }', 2, $false)
  ,@('ref_hashtable', '$h = @{ k = 1 }; ,@($h, $h)', 2, $false)
  ,@('extended_int', '$i = [psobject]5; $i.pstypenames.Insert(0, "My.Int"); $i | Add-Member -NotePropertyName Note -NotePropertyValue "n" -PassThru', 1, $false)
  ,@('credential', '[pscredential]::new("domain\user", (ConvertTo-SecureString "not-a-secret" -AsPlainText -Force))', 1, $false)
  ,@('progress_record', '$p = [System.Management.Automation.ProgressRecord]::new(7, "Copying", "3 of 10"); $p.PercentComplete = 30; $p.SecondsRemaining = 12; $p.CurrentOperation = "file.txt"; $p', 1, $false)
  ,@('error_record', 'try { Get-Item /definitely/missing/path -ErrorAction Stop } catch { $_ }', 1, $true)
  ,@('file_info', '$fixtureFile', 1, $true)
  ,@('directory_info', 'Get-Item /', 1, $true)
  ,@('null', '$null', 1, $false)
  ,@('depth_cut', '[pscustomobject]@{ Inner = [pscustomobject]@{ Deeper = [pscustomobject]@{ Z = 1 } } }', 1, $false)
)

$tmp = Join-Path ([System.IO.Path]::GetTempPath()) ("clixml-fixtures-" + [guid]::NewGuid())
$null = New-Item -ItemType Directory $tmp
try {
  $fixtureFile = New-Item (Join-Path $tmp 'fixture.txt') -Value 'hello'
  $fixtureFile.LastWriteTimeUtc = [datetime]::new(2021, 3, 4, 5, 6, 7, [DateTimeKind]::Utc)
  $fixtureFile = Get-Item $fixtureFile.FullName

  $out = [System.Collections.Generic.List[object]]::new()
  foreach ($case in $cases) {
    try { $value = Invoke-Expression $case[1] } catch { throw "case $($case[0]): $_" }
    $out.Add([ordered]@{ name = $case[0]; expr = $case[1]; depth = $case[2]; form = 'serializer'; volatile = $case[3]; xml = $serializer::Serialize($value, $case[2]) })
  }

  # The file form as Export-Clixml writes it (default depth 2), several objects in one document.
  $path = Join-Path $tmp 'export.xml'
  $exportExpr = '@(1, "two", [pscustomobject]@{ P = [ordered]@{ k = "v" } }, $null, [char]"c")'
  Invoke-Expression $exportExpr | Export-Clixml -Path $path
  $out.Add([ordered]@{ name = 'export_clixml'; expr = $exportExpr; depth = 2; form = 'export'; volatile = $false; xml = [System.IO.File]::ReadAllText($path) })

  # What `pwsh -OutputFormat xml` prints: a "#< CLIXML" line, then a document whose objects carry S="..." streams.
  $pwshExpr = "'out'; 42; Write-Error 'oops'"
  $pwshPath = if ($env:CLIXML_FIXTURES_PWSH) { $env:CLIXML_FIXTURES_PWSH } else { 'pwsh' }
  # A Process, not `& pwsh`: pwsh calling pwsh would read the CLIXML back itself.
  $psi = [System.Diagnostics.ProcessStartInfo]::new($pwshPath)
  foreach ($a in '-NoProfile', '-NonInteractive', '-OutputFormat', 'xml', '-Command', $pwshExpr) { $psi.ArgumentList.Add($a) }
  $psi.RedirectStandardOutput = $true
  $psi.RedirectStandardError = $true
  $proc = [System.Diagnostics.Process]::Start($psi)
  $text = $proc.StandardOutput.ReadToEnd()
  $errText = $proc.StandardError.ReadToEnd()
  $proc.WaitForExit()
  $out.Add([ordered]@{ name = 'output_format_xml'; expr = $pwshExpr; depth = 1; form = 'outputformat'; volatile = $true; xml = $text })
  $out.Add([ordered]@{ name = 'output_format_xml_stderr'; expr = $pwshExpr; depth = 1; form = 'outputformat'; volatile = $true; xml = $errText })

  ConvertTo-Json -InputObject $out -Depth 4
}
finally {
  Remove-Item -Recurse -Force $tmp
}
