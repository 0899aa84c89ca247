# Drives PowerShell's own PowerShell Direct handshake code (System.Management.Automation, internal types,
# reached by reflection) over TCP sockets, for psremote's oracle tests. PowerShell's functions take any
# connected Socket; its own tests (test_RemoteHyperV.cs) run them over TCP the same way.
# One JSON command per line on stdin, one JSON answer per line on stdout.
$ErrorActionPreference = 'Stop'
$asm = [System.Management.Automation.PSObject].Assembly
$flags = [Reflection.BindingFlags]'Static,Public,NonPublic'
$client = $asm.GetType('System.Management.Automation.Remoting.RemoteSessionHyperVSocketClient')
$server = $asm.GetType('System.Management.Automation.Remoting.RemoteSessionHyperVSocketServer')
$exchange = $client.GetMethod('ExchangeCredentialsAndConfiguration', $flags)
$tokenExchange = $client.GetMethod('PerformTransportVersionAndTokenExchange', $flags)
$validate = $server.GetMethod('ValidateToken', $flags)

function Answer($o) { [Console]::Out.WriteLine(($o | ConvertTo-Json -Compress)); [Console]::Out.Flush() }

function Connect-Tcp([int]$port) {
  $s = [System.Net.Sockets.Socket]::new([System.Net.Sockets.AddressFamily]::InterNetwork,
    [System.Net.Sockets.SocketType]::Stream, [System.Net.Sockets.ProtocolType]::Tcp)
  $s.NoDelay = $true
  $s.Connect([System.Net.IPAddress]::Loopback, $port)
  $s
}

function Invoke-Oracle([scriptblock]$body) {
  try { & $body }
  catch {
    $e = $_.Exception
    while ($e -is [System.Reflection.TargetInvocationException] -or $e -is [System.Management.Automation.MethodInvocationException]) {
      if ($null -eq $e.InnerException) { break }
      $e = $e.InnerException
    }
    @{ ok = $false; type = $e.GetType().FullName; message = $e.Message }
  }
}

Answer @{ ready = $true; version = $PSVersionTable.PSVersion.ToString() }
while ($null -ne ($line = [Console]::In.ReadLine())) {
  $c = $line | ConvertFrom-Json
  switch ($c.op) {
    'exchange' {
      # PowerShell's client on socket 1 against a broker at 127.0.0.1:port.
      $r = Invoke-Oracle {
        $s = Connect-Tcp $c.port
        try {
          $cred = [System.Net.NetworkCredential]::new($c.user, $c.password, $c.domain)
          $t = $exchange.Invoke($null, @($cred, $c.config, $s, [bool]$c.legacy))
          @{ ok = $true; success = $t.Item1; token = $t.Item2 }
        } finally { $s.Dispose() }
      }
      Answer $r
    }
    'token' {
      # PowerShell's client on socket 2 against a server at 127.0.0.1:port.
      $r = Invoke-Oracle {
        $s = Connect-Tcp $c.port
        try { $null = $tokenExchange.Invoke($null, @($s, $c.token)); @{ ok = $true } } finally { $s.Dispose() }
      }
      Answer $r
    }
    'validate' {
      # PowerShell's server side of socket 2 (what `pwsh -v2so -token` runs in a guest), listening on TCP.
      $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
      $l.Start()
      Answer @{ port = $l.LocalEndpoint.Port }
      $r = Invoke-Oracle {
        $s = $l.AcceptSocket()
        try {
          $null = $validate.Invoke($null, @($s, $c.token, [DateTimeOffset]::UtcNow, [int]$c.lifeSeconds))
          # After a PASS, echo one line so the caller sees the socket is still a plain byte stream.
          $buf = [byte[]]::new(256)
          $n = $s.Receive($buf)
          $null = $s.Send($buf, 0, $n, [System.Net.Sockets.SocketFlags]::None)
          @{ ok = $true }
        } finally { $s.Dispose() }
      }
      $l.Stop()
      Answer $r
    }
    'exit' { exit 0 }
  }
}
