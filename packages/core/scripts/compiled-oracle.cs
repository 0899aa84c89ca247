// A cmdlet with Enter-PSSession's parameters, attributes and property setters (it derives from
// EnterPSSessionCommand) that reports the parameter set and the bound parameters, and never connects.
// Loaded by binder-oracle.ps1 and the prompt tests with Add-Type.
using System.Management.Automation;
using Microsoft.PowerShell.Commands;

[Cmdlet("Enter", "PSSessionCompiledOracle", DefaultParameterSetName = "ComputerName")]
public sealed class EnterPSSessionCompiledOracle : EnterPSSessionCommand
{
    protected override void BeginProcessing()
    {
        WriteObject(ParameterSetName);
        WriteObject(MyInvocation.BoundParameters);
    }
    protected override void ProcessRecord() { }
    protected override void EndProcessing() { }
    protected override void StopProcessing() { }
}
