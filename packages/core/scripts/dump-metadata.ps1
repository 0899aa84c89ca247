# Dumps Enter-PSSession's parameter metadata from the running pwsh as JSON (the source of
# src/parameters/enter-pssession-metadata.json). Run: pwsh -NoProfile -File scripts/dump-metadata.ps1
$cmd = Get-Command Enter-PSSession
$common = [System.Management.Automation.Internal.CommonParameters].GetProperties().Name
$params = foreach ($p in $cmd.Parameters.Values) {
  $sets = foreach ($kv in $p.ParameterSets.GetEnumerator()) {
    [ordered]@{
      name = $kv.Key
      position = $kv.Value.Position
      mandatory = $kv.Value.IsMandatory
      valueFromPipeline = $kv.Value.ValueFromPipeline
      valueFromPipelineByPropertyName = $kv.Value.ValueFromPipelineByPropertyName
    }
  }
  $validation = foreach ($a in $p.Attributes) {
    switch ($a.GetType().Name) {
      'ValidateRangeAttribute' { [ordered]@{ kind = 'range'; min = $a.MinRange; max = $a.MaxRange } }
      'ValidateSetAttribute' { [ordered]@{ kind = 'set'; values = @($a.ValidValues); ignoreCase = $a.IgnoreCase } }
      'ValidateNotNullOrEmptyAttribute' { [ordered]@{ kind = 'notNullOrEmpty' } }
      'ValidateNotNullAttribute' { [ordered]@{ kind = 'notNull' } }
      'CredentialAttribute' { [ordered]@{ kind = 'credential' } }
      'AllowNullAttribute' { [ordered]@{ kind = 'allowNull' } }
      'AllowEmptyStringAttribute' { [ordered]@{ kind = 'allowEmptyString' } }
      default { $null }
    }
  }
  [ordered]@{
    name = $p.Name
    type = $p.ParameterType.FullName
    isSwitch = $p.SwitchParameter
    isCommon = $common -contains $p.Name
    aliases = @($p.Aliases)
    sets = @($sets)
    validation = @($validation | Where-Object { $_ })
  }
}
[ordered]@{
  command = 'Enter-PSSession'
  psVersion = $PSVersionTable.PSVersion.ToString()
  defaultParameterSet = $cmd.DefaultParameterSet
  parameterSets = @($cmd.ParameterSets.Name)
  parameters = @($params)
} | ConvertTo-Json -Depth 8
