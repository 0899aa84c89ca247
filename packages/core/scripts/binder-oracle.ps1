# The binder oracle. Two binders of real pwsh see each argument list:
# - the compiled one: a cmdlet derived from EnterPSSessionCommand (same parameters, same attributes, same
#   property setters) whose BeginProcessing reports $ParameterSetName and the bound parameters and which
#   never connects. Its answer is the truth recorded in the fixture.
# - a proxy function built from Enter-PSSession's own CommandMetadata (ProxyCommand). A script function binds
#   some values differently (type conversion errors, $null for Int32 and switch parameters): where it disagrees
#   the fixture says so (proxyAgrees: false), for the record.
# Input: a JSON array of argv arrays on stdin. Output: JSON lines on stdout.
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

$compiledSource = Get-Content -Raw -Path (Join-Path $PSScriptRoot 'compiled-oracle.cs')
$compiledType = Add-Type -TypeDefinition $compiledSource -PassThru
Import-Module -Assembly $compiledType[0].Assembly
# The derived cmdlet must have exactly Enter-PSSession's parameters, sets and default set.
$shape = { param($c) ($c.Parameters.Values | Sort-Object Name | ForEach-Object {
      "$($_.Name):$($_.ParameterType):$(($_.ParameterSets.Keys | Sort-Object) -join '/'):$($_.Aliases -join '/')" }) -join ';'
  $c.DefaultParameterSet; ($c.ParameterSets.Name -join ',') }
if (((& $shape (Get-Command Enter-PSSession)) -join '|') -cne ((& $shape (Get-Command Enter-PSSessionCompiledOracle)) -join '|')) {
  throw 'The derived cmdlet does not have the parameters of Enter-PSSession'
}

function Invoke-Binder([string] $command, [string] $line) {
  $r = [ordered]@{}
  try {
    $out = Invoke-Expression "$command $line"
    $r.parameterSet = $out[0]
    $bound = [ordered]@{}
    foreach ($k in $out[1].Keys) { $bound[$k] = Convert-Bound $out[1][$k] }
    $r.bound = $bound
  } catch {
    $r.errorId = ($_.FullyQualifiedErrorId -split ',')[0]
    $r.category = $_.CategoryInfo.Category.ToString()
    $r.message = $_.Exception.Message
  }
  return $r
}

$cases = [Console]::In.ReadToEnd() | ConvertFrom-Json -NoEnumerate
foreach ($words in $cases) {
  $line = ($words | ForEach-Object { $_ }) -join ' '
  $result = [ordered]@{ args = @($words) }
  $compiled = Invoke-Binder 'Enter-PSSessionCompiledOracle' $line
  $proxy = Invoke-Binder 'Enter-PSSessionOracle' $line
  foreach ($k in $compiled.Keys) { $result[$k] = $compiled[$k] }
  $result.proxyAgrees = ($compiled | ConvertTo-Json -Compress -Depth 5) -ceq ($proxy | ConvertTo-Json -Compress -Depth 5)
  [Console]::Out.WriteLine(($result | ConvertTo-Json -Compress -Depth 5))
}
