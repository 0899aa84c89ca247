# pwsh's own client on the same transport, timed inside a warm pwsh. Prints one JSON object per measurement.
# Without -HostName: an out-of-process runspace (a `pwsh -s` child). With -HostName: New-PSSession -HostName
# (pwsh runs the OpenSSH client) and pipelines on that session's runspace.
param(
  [int]$Repeat = 5, [int]$Bulk = 1000000, [int]$Rich = 100000,
  [string]$HostName, [int]$Port = 22, [string]$UserName, [string]$KeyFilePath, [string]$KnownHosts
)
$ErrorActionPreference = 'Stop'
$proc = [System.Diagnostics.Process]::GetCurrentProcess()
# This process's CPU, plus its ssh children's (pwsh leaves the SSH crypto to the OpenSSH client; ours is in-process).
function Cpu {
  $proc.Refresh(); $ms = $proc.TotalProcessorTime.TotalMilliseconds
  foreach ($c in Get-Process -Name ssh -ErrorAction Ignore) { if ($c.Parent.Id -eq $PID) { $ms += $c.TotalProcessorTime.TotalMilliseconds } }
  $ms
}
function Emit($name, $ms, $cpu, $extra) {
  $proc.Refresh()
  $o = [ordered]@{ name = $name; ms = [math]::Round($ms, 2); cpuMs = [math]::Round($cpu, 2); peakRssMB = [math]::Round($proc.PeakWorkingSet64 / 1MB, 1) }
  if ($extra) { foreach ($k in $extra.Keys) { $o[$k] = $extra[$k] } }
  [Console]::Out.WriteLine(($o | ConvertTo-Json -Compress))
}
# Opens the target; returns something with a .Runspace and a way to close it.
function Open-Target {
  if ($HostName) {
    $s = New-PSSession -HostName $HostName -Port $Port -UserName $UserName -KeyFilePath $KeyFilePath `
      -Options @{ StrictHostKeyChecking = 'yes'; UserKnownHostsFile = $KnownHosts; BatchMode = 'yes' }
    return @{ Runspace = $s.Runspace; Close = { Remove-PSSession $s }.GetNewClosure() }
  }
  $rs = [runspacefactory]::CreateOutOfProcessRunspace($null); $rs.Open()
  return @{ Runspace = $rs; Close = { $rs.Dispose() }.GetNewClosure() }
}
# warm-up: load the remoting assemblies and JIT the paths once
$w = Open-Target
$p = [powershell]::Create(); $p.Runspace = $w.Runspace; [void]$p.AddScript('1').Invoke(); $p.Dispose(); & $w.Close

$opens = @(); $rts = @()
for ($i = 0; $i -lt $Repeat; $i++) {
  $sw = [Diagnostics.Stopwatch]::StartNew()
  $t = Open-Target
  $opens += $sw.Elapsed.TotalMilliseconds
  for ($j = 0; $j -lt 5; $j++) {
    $ps = [powershell]::Create(); $ps.Runspace = $t.Runspace
    $sw.Restart(); [void]$ps.AddScript('1').Invoke(); $rts += $sw.Elapsed.TotalMilliseconds
    $ps.Dispose()
  }
  & $t.Close
}
$median = { param($a) $s = $a | Sort-Object; $s[[int][math]::Floor(($s.Count - 1) / 2)] }
Emit 'open' (& $median $opens) 0 @{ samples = $opens.Count }
Emit 'roundtrip' (& $median $rts) 0 @{ samples = $rts.Count }

$t = Open-Target
$cases = @(@{ name = 'bulk'; script = "1..$Bulk" })
if ($Rich -gt 0) {
  $cases += @{ name = 'rich'; script = "1..$Rich | ForEach-Object { [pscustomobject]@{ Name = `"file`$_.txt`"; Length = [long]`$_ * 17; LastWriteTime = [datetime]'2026-01-01'; Mode = '-a---'; FullName = `"/tmp/dir/file`$_.txt`"; Attributes = [IO.FileAttributes]::Archive } }" }
}
foreach ($case in $cases) {
  $ps = [powershell]::Create(); $ps.Runspace = $t.Runspace
  [void]$ps.AddScript($case.script)
  $out = [System.Management.Automation.PSDataCollection[psobject]]::new()
  $c0 = Cpu; $sw = [Diagnostics.Stopwatch]::StartNew()
  $ps.Invoke($null, $out)
  $ms = $sw.Elapsed.TotalMilliseconds; $cpu = (Cpu) - $c0
  Emit $case.name $ms $cpu @{ count = $out.Count }
  $ps.Dispose()
}
& $t.Close
