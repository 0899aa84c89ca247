# PowerShell's own Linux WSMan client (libpsrpclient.so + OMI's libmi.so, found through LD_LIBRARY_PATH) against
# the OMI peer over HTTPS with Basic. Prints one JSON object per measurement; `progress` lines go to stderr.
param([int]$Port = 5986, [string]$UserName = 'psuser', [int]$Bulk = 200000, [int]$CaseTimeoutSec = 300)
$ErrorActionPreference = 'Stop'
$proc = [System.Diagnostics.Process]::GetCurrentProcess()
function Cpu { $proc.Refresh(); $proc.TotalProcessorTime.TotalMilliseconds }
function Emit($name, $ms, $cpu, $extra) {
  $proc.Refresh()
  $o = [ordered]@{ name = $name; ms = [math]::Round($ms, 2); cpuMs = [math]::Round($cpu, 2); peakRssMB = [math]::Round($proc.PeakWorkingSet64 / 1MB, 1) }
  if ($extra) { foreach ($k in $extra.Keys) { $o[$k] = $extra[$k] } }
  [Console]::Out.WriteLine(($o | ConvertTo-Json -Compress))
}
$cred = [pscredential]::new($UserName, (ConvertTo-SecureString $env:BENCH_WINRM_PASSWORD -AsPlainText -Force))
# The peer's certificate is its own self-signed one: the OMI client is told to skip the checks.
$so = New-PSSessionOption -SkipCACheck -SkipCNCheck
$c0 = Cpu; $sw = [Diagnostics.Stopwatch]::StartNew()
$s = New-PSSession -ComputerName 127.0.0.1 -Port $Port -UseSSL -Authentication Basic -Credential $cred -SessionOption $so
Emit 'open' $sw.Elapsed.TotalMilliseconds ((Cpu) - $c0)
[Console]::Error.WriteLine("open done")
foreach ($case in @(@{ name = 'roundtrip'; script = '1' }, @{ name = 'bulk'; script = "1..$Bulk" })) {
  $ps = [powershell]::Create(); $ps.Runspace = $s.Runspace; [void]$ps.AddScript($case.script)
  $out = [System.Management.Automation.PSDataCollection[psobject]]::new()
  $c0 = Cpu; $sw.Restart()
  # Asynchronously, so a run that stalls is reported with what it had received by the deadline.
  $h = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $out)
  $done = $h.AsyncWaitHandle.WaitOne([timespan]::FromSeconds($CaseTimeoutSec))
  Emit $case.name $sw.Elapsed.TotalMilliseconds ((Cpu) - $c0) @{ count = $out.Count; timedOut = -not $done }
  [Console]::Error.WriteLine("$($case.name) $(if ($done) { 'done' } else { "timed out after $CaseTimeoutSec s with $($out.Count) objects" })")
  # Stop() and Remove-PSSession stall on OMI's held Receives as well: end the process instead.
  if (-not $done) { [Environment]::Exit(0) }
  $ps.Dispose()
}
$sw.Restart()
Remove-PSSession $s
Emit 'close' $sw.Elapsed.TotalMilliseconds 0
