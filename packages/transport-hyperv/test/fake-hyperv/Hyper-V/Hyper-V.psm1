# A stand-in for the Hyper-V module, for psremote's VM lookup test on hosts without Hyper-V: a Get-VM with the
# real one's -Id and -Name parameter sets, returning objects whose State is a VMState enum as the module's are.
# The VM list comes from $env:PSREMOTE_FAKE_VMS (JSON), so each test sets its own.
# A PowerShell enum (not Add-Type's C#, which costs seconds to compile); the lookup reads any enum alike.
enum VMState { Other = 1; Running = 2; Off = 3; Stopping = 4; Saved = 6; Paused = 9; Starting = 10; Reset = 11 }

function Get-VM {
  [CmdletBinding(DefaultParameterSetName = 'Name')]
  param(
    [Parameter(ParameterSetName = 'Name', Position = 0)][string[]]$Name = '*',
    [Parameter(ParameterSetName = 'Id', Mandatory)][guid]$Id
  )
  $all = @($env:PSREMOTE_FAKE_VMS | ConvertFrom-Json | ForEach-Object {
    $vm = $_
    $state = switch ($vm.StateKind) {
      'string' { [string]$vm.State }
      'int' { [int]$vm.State }
      default { [VMState]$vm.State }
    }
    [pscustomobject]@{ VMId = [guid]$vm.VMId; VMName = $vm.VMName; State = $state }
  })
  $found = if ($PSCmdlet.ParameterSetName -eq 'Id') { @($all | Where-Object VMId -EQ $Id) }
  else { @($all | Where-Object { $n = $_.VMName; $Name | Where-Object { $n -like $_ } }) }
  if ($found.Count -eq 0) { Write-Error "Hyper-V was unable to find a virtual machine with name or id '$Name$Id'." }
  $found
}
Export-ModuleMember -Function Get-VM
