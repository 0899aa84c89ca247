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
  if ($v -is [hashtable]) { $h = [ordered]@{}; foreach ($k in $v.Keys) { $h["$k"] = "$($v[$k])" }; return $h }
  if ($v -is [guid]) { return $v.ToString() }
  if ($v -is [uri]) { return $v.OriginalString }
  if ($v -is [enum]) { return $v.ToString() }
  if ($v -is [int] -or $v -is [bool] -or $v -is [string]) { return $v }
  return "$v"
}

$cases = [Console]::In.ReadToEnd() | ConvertFrom-Json -NoEnumerate
foreach ($words in $cases) {
  $line = ($words | ForEach-Object { $_ }) -join ' '
  $result = [ordered]@{ args = @($words) }
  try {
    $out = Invoke-Expression "Enter-PSSessionOracle $line"
    $result.parameterSet = $out[0]
    $bound = [ordered]@{}
    foreach ($k in $out[1].Keys) { $bound[$k] = Convert-Bound $out[1][$k] }
    $result.bound = $bound
  } catch {
    $e = $_
    # A script proxy reports type conversions as argument transformations; the compiled cmdlet reports
    # CannotConvertArgument(NoMessage). Binding fails before the cmdlet runs, so ask the real one for its error.
    if ($e.FullyQualifiedErrorId -like 'ParameterArgumentTransformationError,*' -and $e.Exception.Message -notlike "*'Credential'*") {
      try { Invoke-Expression "Enter-PSSession $line" } catch { $e = $_ }
    }
    $id = ($e.FullyQualifiedErrorId -split ',')[0]
    $result.errorId = $id
    $result.category = $e.CategoryInfo.Category.ToString()
    $result.message = $e.Exception.Message
  }
  [Console]::Out.WriteLine(($result | ConvertTo-Json -Compress -Depth 5))
}
