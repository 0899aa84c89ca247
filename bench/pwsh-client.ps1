# pwsh's own client on the same transport (an out-of-process runspace = `pwsh -s` child), timed inside a
# warm pwsh. Prints one JSON object per measurement.
param([int]$Repeat = 5, [int]$Bulk = 1000000, [int]$Rich = 100000)
$ErrorActionPreference = 'Stop'
$proc = [System.Diagnostics.Process]::GetCurrentProcess()
function Cpu { $proc.Refresh(); $proc.TotalProcessorTime.TotalMilliseconds }
function Emit($name, $ms, $cpu, $extra) {
  $proc.Refresh()
  $o = [ordered]@{ name = $name; ms = [math]::Round($ms, 2); cpuMs = [math]::Round($cpu, 2); peakRssMB = [math]::Round($proc.PeakWorkingSet64 / 1MB, 1) }
  if ($extra) { foreach ($k in $extra.Keys) { $o[$k] = $extra[$k] } }
  [Console]::Out.WriteLine(($o | ConvertTo-Json -Compress))
}
# warm-up: load the remoting assemblies and JIT the paths once
$w = [runspacefactory]::CreateOutOfProcessRunspace($null); $w.Open()
$p = [powershell]::Create(); $p.Runspace = $w; [void]$p.AddScript('1').Invoke(); $p.Dispose(); $w.Dispose()

$opens = @(); $rts = @()
for ($i = 0; $i -lt $Repeat; $i++) {
  $sw = [Diagnostics.Stopwatch]::StartNew()
  $rs = [runspacefactory]::CreateOutOfProcessRunspace($null); $rs.Open()
  $opens += $sw.Elapsed.TotalMilliseconds
  for ($j = 0; $j -lt 5; $j++) {
    $ps = [powershell]::Create(); $ps.Runspace = $rs
    $sw.Restart(); [void]$ps.AddScript('1').Invoke(); $rts += $sw.Elapsed.TotalMilliseconds
    $ps.Dispose()
  }
  $rs.Dispose()
}
$median = { param($a) $s = $a | Sort-Object; $s[[int][math]::Floor(($s.Count - 1) / 2)] }
Emit 'open' (& $median $opens) 0 @{ samples = $opens.Count }
Emit 'roundtrip' (& $median $rts) 0 @{ samples = $rts.Count }

$rs = [runspacefactory]::CreateOutOfProcessRunspace($null); $rs.Open()
foreach ($case in @(
    @{ name = 'bulk'; script = "1..$Bulk" },
    @{ name = 'rich'; script = "1..$Rich | ForEach-Object { [pscustomobject]@{ Name = `"file`$_.txt`"; Length = [long]`$_ * 17; LastWriteTime = [datetime]'2026-01-01'; Mode = '-a---'; FullName = `"/tmp/dir/file`$_.txt`"; Attributes = [IO.FileAttributes]::Archive } }" }
  )) {
  $ps = [powershell]::Create(); $ps.Runspace = $rs
  [void]$ps.AddScript($case.script)
  $out = [System.Management.Automation.PSDataCollection[psobject]]::new()
  $c0 = Cpu; $sw = [Diagnostics.Stopwatch]::StartNew()
  $ps.Invoke($null, $out)
  $ms = $sw.Elapsed.TotalMilliseconds; $cpu = (Cpu) - $c0
  Emit $case.name $ms $cpu @{ count = $out.Count }
  $ps.Dispose()
}
$rs.Dispose()
