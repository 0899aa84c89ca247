# The binder oracle: real pwsh binds each argument list against Enter-PSSession's own parameter metadata
# (a proxy function built from its CommandMetadata) and reports the parameter set and the bound parameters, or
# the binding error. Input: a JSON array of argv arrays on stdin. Output: JSON lines on stdout.
$ErrorActionPreference = 'Stop'
$md = [System.Management.Automation.CommandMetadata]::new((Get-Command Enter-PSSession))
$binding = [System.Management.Automation.ProxyCommand]::GetCmdletBindingAttribute($md)
$params = [System.Management.Automation.ProxyCommand]::GetParamBlock($md)
$body = @"
$binding
param($params)
end { `$PSCmdlet.ParameterSetName; `$PSBoundParameters }
"@
Set-Item -Path function:global:Enter-PSSessionOracle -Value ([scriptblock]::Create($body))

function Convert-Bound($v) {
  if ($null -eq $v) { return $null }
  if ($v -is [System.Management.Automation.SwitchParameter]) { return $v.IsPresent }
  if ($v -is [pscredential]) { return [ordered]@{ userName = $v.UserName } }
  # Hashtable values as .NET's ToString() gives them: the text an ssh `-o key=value` option carries.
  if ($v -is [hashtable]) {
    $h = [ordered]@{}
    foreach ($k in ($v.Keys | Sort-Object)) { $h["$k"] = if ($null -eq $v[$k]) { '' } else { $v[$k].ToString() } }
    return $h
  }
  if ($v -is [guid]) { return $v.ToString() }
  if ($v -is [uri]) { return $v.OriginalString }
  if ($v -is [enum]) { return $v.ToString() }
  if ($v -is [int] -or $v -is [bool] -or $v -is [string]) { return $v }
  return "$v"
}

# The real cmdlet, in a runspace without a host and with no ssh on PATH, so that a successful binding ends
# quickly in a connection error. Returns the binding error record, or $null when binding succeeded.
$emptyDir = Join-Path ([System.IO.Path]::GetTempPath()) "psremote-oracle-$PID"
$null = New-Item -ItemType Directory -Force -Path $emptyDir
function Get-RealBindingError([string] $line) {
  $savedPath = $env:PATH
  $env:PATH = $emptyDir
  $ps = [powershell]::Create()
  try {
    $null = $ps.AddScript("Enter-PSSession $line")
    $err = $null
    try { $null = $ps.Invoke(); $err = $ps.Streams.Error | Select-Object -First 1 }
    catch { $err = $_.Exception.InnerException.ErrorRecord; if (-not $err) { $err = $_ } }
    if ($err -and $err.Exception -is [System.Management.Automation.ParameterBindingException]) { return $err }
    return $null
  } finally {
    $ps.Dispose()
    $env:PATH = $savedPath
  }
}

$cases = [Console]::In.ReadToEnd() | ConvertFrom-Json -NoEnumerate
foreach ($words in $cases) {
  $line = ($words | ForEach-Object { $_ }) -join ' '
  $result = [ordered]@{ args = @($words) }
  # The proxy: binds with the same metadata and reports the parameter set and the bound values.
  $proxyError = $null
  try {
    $out = Invoke-Expression "Enter-PSSessionOracle $line"
  } catch { $proxyError = $_ }
  # The compiled cmdlet binds some values differently from a script function (argument type conversion, null
  # for Int32 parameters, switch values): its binding error, when it has one, is the truth.
  $real = Get-RealBindingError $line
  $e = $null
  if ($real) {
    # Without a host the cmdlet cannot prompt; the proxy ran in the NonInteractive console, as users will.
    $hostless = $real.Exception.Message -like '*does not support user interaction*'
    $e = if ($hostless -and $proxyError) { $proxyError } else { $real }
  } elseif ($proxyError -and $proxyError.Exception -isnot [System.Management.Automation.ParameterBindingException]) {
    $e = $proxyError # a parse or runtime error before binding
  } elseif ($proxyError) {
    # The compiled cmdlet bound what the script proxy refused: no parameter set to report.
    $result.realCmdletBound = $true
    $result.proxyErrorId = ($proxyError.FullyQualifiedErrorId -split ',')[0]
  }
  if ($e) {
    $result.errorId = ($e.FullyQualifiedErrorId -split ',')[0]
    $result.category = $e.CategoryInfo.Category.ToString()
    $result.message = $e.Exception.Message
  } elseif (-not $proxyError) {
    $result.parameterSet = $out[0]
    $bound = [ordered]@{}
    foreach ($k in $out[1].Keys) { $bound[$k] = Convert-Bound $out[1][$k] }
    $result.bound = $bound
  }
  [Console]::Out.WriteLine(($result | ConvertTo-Json -Compress -Depth 5))
}
Remove-Item -Force -Path $emptyDir
