// The argument lists of the binder conformance suite: each case is the argv words a user would type after
// `psremote enter` (each word one PowerShell token or expression), as they would type them after
// Enter-PSSession at a pwsh prompt.
const G = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
const cases = [];
const seen = new Set();
const add = (...words) => {
  const key = JSON.stringify(words);
  if (!seen.has(key)) cases.push(words);
  seen.add(key);
};

// Every set, the plain way.
add('-ComputerName', 'srv01');
add('-ComputerName', 'srv01', '-Credential', '$null');
add('-HostName', 'me@box:22');
add('-HostName', 'box', '-UserName', 'me', '-Port', '2222');
add('-ConnectionUri', 'http://srv01:5985/wsman');
add('-InstanceId', G);
add('-Id', '3');
add('-Name', 'sess1');
add('-VMId', G);
add('-VMName', 'vm1');
add('-ContainerId', 'abc123');
add('-ContainerId', 'abc123', '-RunAsAdministrator');
add('-Session', '$null');
// Aliases.
add('-Cn', 'srv01');
add('-cn', 'srv01');
add('-URI', 'http://srv01/wsman');
add('-CU', 'https://srv01:5986/');
add('-VMGuid', G);
add('-HostName', 'h', '-IdentityFilePath', '/k/id_ed25519');
add('-HostName', 'h', '-KeyFilePath', '/k/id_rsa');
add('srv01', '-vb');
add('srv01', '-db');
add('srv01', '-ea', 'Stop');
add('srv01', '-wa', 'SilentlyContinue');
add('srv01', '-infa', 'Continue');
add('srv01', '-proga', 'SilentlyContinue');
add('srv01', '-ev', 'e');
add('srv01', '-wv', 'w');
add('srv01', '-iv', 'i');
add('srv01', '-ov', 'o');
add('srv01', '-ob', '5');
add('srv01', '-pv', 'p');
add('srv01', '-Verbose');
add('srv01', '-Verbose:$false');
add('srv01', '-Debug:$true');
add('srv01', '-ErrorAction', 'Bogus');
add('srv01', '-OutBuffer', '-1');
// Prefixes: ambiguous and unique.
for (const p of [
  '-C',
  '-Co',
  '-Con',
  '-Conf',
  '-Confi',
  '-Conn',
  '-Cont',
  '-Cr',
  '-Cre',
  '-Ce',
  '-Com',
  '-Comp',
  '-Ho',
  '-H',
  '-Hos',
  '-I',
  '-In',
  '-Id',
  '-N',
  '-Na',
  '-V',
  '-VM',
  '-VMI',
  '-VMN',
  '-Ke',
  '-K',
  '-U',
  '-Us',
  '-Use',
  '-UseS',
  '-UserN',
  '-S',
  '-Se',
  '-Ses',
  '-Sess',
  '-SessionO',
  '-Su',
  '-SS',
  '-SSH',
  '-P',
  '-Po',
  '-A',
  '-Au',
  '-Al',
  '-Ap',
  '-E',
  '-En',
  '-R',
  '-Ru',
  '-O',
  '-Op',
  '-Ou',
  '-W',
  '-Wa',
  '-In',
  '-Inf',
  '-Ins',
  '-Pr',
  '-Pi',
  '-D',
  '-De',
  '-Er',
  '-Ve',
]) {
  add(p, 'x1');
}
// Positionals.
add('srv01');
add('5');
add('-5');
add('0x10');
add('5.0');
add("'5'");
add('"srv 01"');
add(G);
add('srv01', 'extra');
add('srv01', 'cred');
add('vm1', 'cred', '-VMName');
add('-VMName', 'vm1', 'DOM\\me');
add('-VMId', G, 'u');
add('http://srv01/wsman');
add('-ConnectionUri', 'http://a', 'b');
add('a', 'b', 'c');
add('$true');
add('$null');
add('1kb');
add('2GB');
add('10l');
add('me@box:22');
add('-ContainerId', 'c1', 'x');
add('-Port', '22', 'srv01');
add('-HostName', 'h', 'extra');
add('-UserName', 'u', 'host1');
add('-ConfigurationName', 'cfg', 'srv01');
add('-ConfigurationName', 'cfg', 'vm1', 'DOM\\me');
// Switches.
add('srv01', '-UseSSL');
add('srv01', '-UseSSL:$false');
add('srv01', '-UseSSL:$true');
add('srv01', '-UseSSL', '$false');
add('srv01', '-EnableNetworkAccess');
add('-ConnectionUri', 'http://a/', '-AllowRedirection');
add('-ConnectionUri', 'http://a/', '-AllowRedirection:$false');
add('-HostName', 'h', '-SSHTransport');
add('-HostName', 'h', '-SSHTransport:$true');
add('-HostName', 'h', '-SSHTransport:$false');
add('-SSHTransport', 'h');
add('-SSHTransport');
add('-ContainerId', 'c', '-RunAsAdministrator:$false');
add('-RunAsAdministrator', 'c1');
add('-RunAsAdministrator');
add('-UseSSL', 'srv01');
add('-UseSSL');
add('-EnableNetworkAccess', '-ConnectionUri', 'http://a');
// Duplicates.
add('-ComputerName', 'a', '-ComputerName', 'b');
add('-ComputerName', 'a', '-Cn', 'b');
add('srv01', '-ComputerName', 'b');
add('-HostName', 'h', '-Port', '1', '-Port', '2');
add('-UseSSL', '-UseSSL', 'srv01');
add('-Id', '1', '-Id', '2');
add('-Verbose', '-vb', 'srv01');
// Conflicts across sets.
add('-ComputerName', 'a', '-HostName', 'b');
add('-ComputerName', 'a', '-UserName', 'u');
add('-HostName', 'h', '-UseSSL');
add('-HostName', 'h', '-Credential', 'DOM\\me');
add('-HostName', 'h', '-ConfigurationName', 'c');
add('-ContainerId', 'c', '-Port', '5');
add('-ContainerId', 'c', '-Credential', 'u');
add('-VMName', 'v', '-VMId', G);
add('-VMName', 'v', '-UseSSL');
add('-Id', '1', '-Name', 'n');
add('-ConnectionUri', 'http://a', '-ComputerName', 'b');
add('-ConnectionUri', 'http://a', '-Port', '80');
add('-ConnectionUri', 'http://a', '-UseSSL');
add('-ConnectionUri', 'http://a', '-ApplicationName', 'x');
add('-ComputerName', 'a', '-AllowRedirection');
add('-ComputerName', 'a', '-RunAsAdministrator');
add('-InstanceId', G, '-Id', '4');
add('-Session', '$null', '-ComputerName', 'a');
add('-HostName', 'h', '-ContainerId', 'c');
add('-KeyFilePath', 'k', '-ComputerName', 'a');
add('-Subsystem', 'powershell', '-UseSSL');
add('-Options', "@{a='b'}", '-ComputerName', 'x');
add('-ConnectingTimeout', '5', '-ContainerId', 'c');
add('-EnableNetworkAccess', '-HostName', 'h');
add('-CertificateThumbprint', 'ab', '-HostName', 'h');
add('-Authentication', 'Basic', '-VMName', 'v');
// Sets chosen without their target: defaults and mandatory checks.
add();
add('-Port', '22');
add('-Credential', '$null');
add('-ConfigurationName', 'cfg');
add('-UserName', 'me');
add('-KeyFilePath', 'k');
add('-Subsystem', 's');
add('-ConnectingTimeout', '1000');
add('-Options', "@{a='b'}");
add('-ApplicationName', 'app');
add('-AllowRedirection');
add('-EnableNetworkAccess');
add('-Authentication', 'Kerberos');
add('-CertificateThumbprint', 'AB12');
add('-SessionOption', '$null');
add('-Verbose');
add('-ErrorAction', 'Stop');
add('-ConfigurationName', 'c', '-RunAsAdministrator');
add('-ConfigurationName', 'c', '-AllowRedirection');
add('-Credential', '$null', '-AllowRedirection');
// Types and conversion.
add('-Id', 'abc');
add('-Id', '3.7');
add('-Id', '2.5');
add('-Id', "'12'");
add('-Id', '0x1F');
add('-Id', '1kb');
add('-Id', '$true');
add('-Id', '99999999999');
add('-Id', '-1');
add('-Id', '$null');
add('-Id', '1,2');
add('-InstanceId', 'not-a-guid');
add('-InstanceId', G.toUpperCase());
add('-InstanceId', `{${G}}`);
add('-InstanceId', G.replace(/-/g, ''));
add('-InstanceId', '$null');
add('-InstanceId', '5');
add('-VMId', 'zzz');
add('-VMId', '$null');
add('-VMId', `'${G}'`);
add('-ConnectionUri', 'not a uri');
add('-ConnectionUri', 'relative/path');
add('-ConnectionUri', '$null');
add('-ConnectionUri', "''");
add('-ConnectionUri', '5');
add('-Port', 'abc');
add('-ComputerName', 'a', '-Port', '0');
add('-ComputerName', 'a', '-Port', '65536');
add('-ComputerName', 'a', '-Port', '65535');
add('-ComputerName', 'a', '-Port', '1');
add('-ComputerName', 'a', '-Port', '-5');
add('-ComputerName', 'a', '-Port', '8.4');
add('-ComputerName', 'a', '-Port', "'443'");
add('-ComputerName', 'a', '-Port', '$null');
add('-HostName', 'h', '-Port', '70000');
add('-HostName', 'h', '-ConnectingTimeout', 'x');
add('-HostName', 'h', '-ConnectingTimeout', '-1');
add('-HostName', 'h', '-ConnectingTimeout', '2.5');
add('-ComputerName', "''");
add('-ComputerName', '$null');
add('-ComputerName', '5');
add('-ComputerName', '$true');
add('-ComputerName', 'a,b');
add('-ComputerName', '@{a=1}');
add('-HostName', "''");
add('-HostName', '$null');
add('-HostName', '[::1]:22');
add('-HostName', 'DOM\\user@host');
add('-VMName', "''");
add('-ContainerId', "''");
add('-ContainerId', '$null');
add('-Name', "''");
add('-Name', '$null');
add('-Name', '5');
add('-UserName', "''", '-HostName', 'h');
add('-HostName', 'h', '-KeyFilePath', "''");
add('-HostName', 'h', '-Subsystem', "''");
add('-HostName', 'h', '-Subsystem', '$null');
add('-HostName', 'h', '-Options', "@{StrictHostKeyChecking='no'}");
add('-HostName', 'h', '-Options', "@{StrictHostKeyChecking='no'; Port=2222}");
add('-HostName', 'h', '-Options', '@{}');
add('-HostName', 'h', '-Options', '$null');
add('-HostName', 'h', '-Options', 'StrictHostKeyChecking=no');
add('-ComputerName', 'a', '-Authentication', 'Negotiate');
add('-ComputerName', 'a', '-Authentication', 'negotiate');
add('-ComputerName', 'a', '-Authentication', 'Bogus');
add('-ComputerName', 'a', '-Authentication', '2');
add('-ComputerName', 'a', '-Authentication', 'Credssp');
add('-ComputerName', 'a', '-ApplicationName', "''");
add('-ComputerName', 'a', '-CertificateThumbprint', '$null');
add('-ComputerName', 'a', '-SessionOption', "'x'");
add('-ComputerName', 'a', '-ConfigurationName', "''");
add('-ComputerName', 'a', '-ConfigurationName', 'Microsoft.PowerShell');
add('-Session', "'s'");
add('-Session', '5');
add('-VMName', 'v', '-Credential', '$null');
add('-ContainerId', 'c', '-ConfigurationName', 'cfg');
add('srv01', '-ErrorAction', '5');
add('srv01', '-OutBuffer', 'x');
// Missing arguments.
add('-ComputerName');
add('-HostName');
add('-Port');
add('-ComputerName', '-Port', '5');
add('-HostName', 'h', '-Port');
add('-HostName', 'h', '-UserName', '-Port', '22');
add('-Credential');
add('-Options');
add('srv01', '-ErrorAction');
add('-Id');
add('-ContainerId', '-RunAsAdministrator');
// Unknown names.
add('-Bogus', 'x');
add('-ComputerNameX', 'a');
add('-HostNam3', 'h');
add('-Hostname', 'h');
add('-HOSTNAME', 'h');
add('-computername', 'SRV01');
add('-hostname:h');
add('-ComputerName:srv01');
add('-Port:22', '-HostName:h');
add('-Id:5');
add('-UseSSL:$false', '-ComputerName', 'a');
// Misc combinations.
add('-ComputerName', 'srv01', '-Port', '90', '-Credential', '$null');
add(
  '-ComputerName',
  'srv01',
  '-UseSSL',
  '-Port',
  '5986',
  '-ApplicationName',
  'wsman',
  '-ConfigurationName',
  'PowerShell.7',
);
add('-ComputerName', 'srv01', '-Authentication', 'Kerberos', '-CertificateThumbprint', 'AB');
add(
  '-HostName',
  'u@h',
  '-KeyFilePath',
  '/k',
  '-Subsystem',
  'pwsh',
  '-ConnectingTimeout',
  '5000',
  '-SSHTransport',
);
add('-HostName', 'h', '-Options', "@{User='x'}", '-Port', '22', '-UserName', 'u');
add('-VMName', 'vm1', '-Credential', '$null', '-ConfigurationName', 'c');
add('-VMId', G, '-Credential', '$null');
add('-ContainerId', 'c', '-RunAsAdministrator', '-ConfigurationName', 'x');
add(
  '-ConnectionUri',
  'https://h:5986/wsman',
  '-Credential',
  '$null',
  '-AllowRedirection',
  '-Authentication',
  'Basic',
);
add('-ConnectionUri', 'http://h', '-SessionOption', '$null');
add('h1', '-Port', '22', '-UserName', 'u');
add('h1', '-SSHTransport');
add('h1', '-KeyFilePath', 'k');
add('h1', '-Options', '@{a=1}');
add('h1', '-RunAsAdministrator');
add('h1', '-Credential', '$null', '-VMName');
add('vm', '-VMName:$null');
add('-ContainerId', 'abcdef0123456789abcdef');
add('-Name', 'a', '-ErrorAction', 'Stop');
add('-InstanceId', G, '-Verbose');
add('-Id', '7', '-Debug');
add('-Id', '7', '8');
add('7', '-Name', 'n');
add(G, '-VMName', 'v');
add('-VMId', G, '-ConfigurationName', 'c', '-Credential', '$null');
add('-HostName', 'h', '-Port', '0x16');
add('-HostName', 'h', '-Port', '22kb');
add('-HostName', 'h', '-Port', '22.0');
add('-HostName', 'h', '-Port', '$true');
add('-HostName', 'h', '-Port', '1,2');
add('-HostName', 'h', '-UserName', 'a,b');
add('-HostName', 'a', '-HostName:b');
add('-H', 'h');
add('-Hos', 'h', '-Us', 'u');
add('-Conf', 'c', '-Cont', 'x');
add('-Cr', '$null', '-Cn', 'a');
add('-Ce', 'ab', '-Cn', 'a');
add('-Ap', 'x', '-Cn', 'a');
add('-Au', 'Basic', '-Cn', 'a');
add('-Al', '-CU', 'http://a');
add('-En', '-Cn', 'a');
add('-Ru', '-Cont', 'c');
add('-SessionO', '$null', '-Cn', 'a');
add('-Su', 'x', '-Ho', 'h');
add('-Op', '@{}', '-Ho', 'h');
add('-Ke', 'k', '-Ho', 'h');
add('-Po', '1', '-Ho', 'h');
add('-VMN', 'v', '-Cr', '$null');
add('-VMI', G, '-Cr', '$null');
add('-Ins', G);
add('-Na', 'n');
add('-Ses', '$null');
add('-UseS', '-Cn', 'a');
add('-UserN', 'u', '-Ho', 'h');
add('-SSH', '-Ho', 'h');
add('-Conn', 'http://a');
add('-Connec', '5', '-Ho', 'h');
add('-Connecti', 'x');
add('-ConnectionU', 'http://a');
add('-ConnectingT', '5', '-Ho', 'h');
add('-Comp', 'a');
add('-Ver');
add('-Verb', 'a');
add('-Debu', 'a');
add('-ErrorA', 'Stop', 'a');
add('-ErrorV', 'e', 'a');
add('-Out', 'a');
add('-OutV', 'o', 'a');
add('-OutB', '1', 'a');
add('-Pipe', 'p', 'a');
add('-Prog', 'Stop', 'a');
add('-Info', 'Stop', 'a');
add('-InformationA', 'Stop', 'a');
add('-WarningA', 'Stop', 'a');
add('-Warn', 'Stop', 'a');

// Second batch: colon forms, number suffixes, string-to-number conversions, dashes, credentials of other
// types, hashtables for -SessionOption and -Options, enum numbers, switch arguments.
add('-ComputerName:', 'srv01');
add('-ComputerName:', '-Port', '5');
add('-UseSSL:', 'srv01');
add('-ComputerName:$false');
add('-Id:$null');
add('-Id:0x10');
add('-HostName', 'h', '-Port:22kb');
add('-HostName', 'h', '-Port:$null');
add('-Id', '5u');
add('-Id', '5ul');
add('-Id', '5s');
add('-Id', '5y');
add('-Id', '5n');
add('-Id', '0b101');
add('-Id', '1e3');
add('-Id', '1.5e1');
add('-Id', '5d');
add('-Id', '5l');
add('-Id', '.5');
add('-Id', '+7');
add('-Id', "''");
add('-Id', "' 7 '");
add('-Id', "'0x10'");
add('-Id', "'1kb'");
add('-Id', "'2.5'");
add('-Id', "'3.5'");
add('-Id', "'1e2'");
add('-Id', "'-4'");
add('-Id', '@()');
add('-Id', '@(7)');
add('-Id', '@(7,8)');
add('-HostName', 'h', '-Port', "''");
add('-HostName', 'h', '-ConnectingTimeout', "''");
add('-HostName', 'h', '-ConnectingTimeout', '0');
add('-HostName', 'h', '-ConnectingTimeout', '2147483647');
add('-HostName', 'h', '-ConnectingTimeout', '2147483648');
add('-ComputerName', '5u');
add('-ComputerName', '1e3');
add('-ComputerName', '0b11');
add('-ComputerName', '0x10');
add('-ComputerName', '1kb');
add('-ComputerName', '5.50');
add('-ComputerName', '@()');
add('-ComputerName', "@('a')");
add('-ComputerName', "@('a','b')");
add('-ComputerName', '$false');
add('-ComputerName', "'a b'");
add('-ComputerName', '"a`tb"');
add('-ComputerName', 'a`b');
add('\u2013ComputerName', 'srv01');
add('\u2014HostName', 'h');
add('srv01', '\u2013UseSSL');
add('-ComputerName', 'a', '-Credential', '5');
add('-ComputerName', 'a', '-Credential', "''");
add('-ComputerName', 'a', '-Credential', '@{}');
add('-ComputerName', 'a', '-Credential', 'a,b');
add('-ComputerName', 'a', '-Credential', '$true');
add('-ComputerName', 'a', '-SessionOption', '@{}');
add('-ComputerName', 'a', '-SessionOption', '@{Bogus=1}');
add('-ComputerName', 'a', '-SessionOption', '5');
add('-ComputerName', 'a', '-Authentication', '4');
add('-ComputerName', 'a', '-Authentication', '9');
add('-ComputerName', 'a', '-Authentication', '-1');
add('-ComputerName', 'a', '-Authentication', 'Basic,Kerberos');
add('-ComputerName', 'a', '-Authentication', "'Basic, Kerberos'");
add('-ComputerName', 'a', '-Authentication', "''");
add('-ComputerName', 'a', '-Authentication', '$null');
add('-ComputerName', 'a', '-Authentication', 'Def');
add('srv01', '-ea', '0');
add('srv01', '-ea', 'stop');
add('srv01', '-ea', "''");
add('srv01', '-ea', '$null');
add('srv01', '-ErrorAction', 'Ignore');
add('srv01', '-ErrorAction', 'Break');
add('srv01', '-ErrorAction', 'Suspend');
add('srv01', '-ErrorAction', 'Stop', '-ea', 'Stop');
add('srv01', '-ev', '+e');
add('srv01', '-ov', "''");
add('srv01', '-ob', '$null');
add('srv01', '-UseSSL:0');
add('srv01', '-UseSSL:1');
add('srv01', '-UseSSL:$null');
add('srv01', "-UseSSL:'false'");
add('srv01', "-UseSSL:''");
add('srv01', '-UseSSL:2.5');
add('srv01', '-UseSSL:@()');
add('srv01', '-UseSSL:a,b');
add('-HostName', 'h', "-SSHTransport:'yes'");
add('-HostName', 'h', '-Options', '@{a=1,2}');
add('-HostName', 'h', '-Options', '@{a=$true}');
add('-HostName', 'h', '-Options', '@{a=$null}');
add('-HostName', 'h', '-Options', '@{a=5.0}');
add('-HostName', 'h', '-Options', '@{a="x y";b=\'z\';}');
add('-HostName', 'h', '-Options', "@{'Ciphers'='aes256-ctr'}");
add('-HostName', 'h', '-Options', '5');
add('-HostName', 'h', '-Options', "'x'");
add('-HostName', 'h', '-Options', '@()');
add('-HostName', 'h', '-Options:@{a=1}');
add('-HostName', 'h', '-UserName', '$null');
add('-HostName', 'h', '-UserName', '5');
add('-HostName', 'h', '-KeyFilePath', '$null');
add('-HostName', 'h', '-Subsystem', 'powershell');
add('-HostName', 'h', '-Port', '22', 'extra', 'extra2');
add('-HostName', '[::1]', '-Port', '22');
add('-ConnectionUri', 'http://[::1]:5985/wsman');
add('-ConnectionUri', 'HTTP://SRV01:5985/WSMAN');
add('-ConnectionUri', 'http://a', '-ConnectionUri', 'http://b');
add('-ConnectionUri', 'http://a,http://b');
add('-ConnectionUri', "@('http://a')");
add('-ConnectionUri', '$true');
add('-ConnectionUri', 'http://a/', '-Credential', '$null');
add('-ConnectionUri', 'http://a/', '-ConfigurationName', 'c', '-SessionOption', '$null');
add('-ConnectionUri', 'http://a/', '-CertificateThumbprint', 'AB');
add('-ConnectionUri', 'http://a/', '-EnableNetworkAccess');
add('-VMName', 'v', '-ConfigurationName', 'c');
add('-VMId', G, '-VMName', 'v');
add('-VMGuid', G, 'DOM\\me');
add('-VMId', G.toUpperCase(), '-Credential', '$null');
add('-ContainerId', 'c', '-ContainerId', 'd');
add('-ContainerId', 'c', '-Port', '22');
add('-ContainerId', '5');
add('-ContainerId', 'c', '-UseSSL');
add('-ContainerId', 'c', '-ConnectingTimeout', '5');
add('-Name', 'a,b');
add('-Name', 'n', '-Id', '1');
add('-Name', 'n', 'extra');
add('-Id', '1', 'extra');
add('-InstanceId', G, 'extra');
add('-InstanceId', G, '-ComputerName', 'x');
add('-InstanceId', `${G},${G}`);
add('-InstanceId', "''");
add('-Session', '$null', 'x');
add('-Session', '$null', '-Id', '1');
add('-Session', '@{}');
add('-Session', "@('a')");
add(G, G);
add('5', '6');
add('5', '-Id', '6');
add('srv01', '-Port', '22', 'extra');
add('srv01', '-HostName', 'h');
add('srv01', '-UserName', 'u');
add('srv01', '-VMName', 'v');
add('srv01', '-ContainerId', 'c');
add('srv01', '-ConnectionUri', 'http://a');
add('srv01', '-Id', '5');
add('srv01', '-Name', 'n');
add('srv01', '-Session', '$null');
add('-VMName', 'v', 'DOM\\me', 'extra');
add('-Credential', '$null', 'vm1');
add('-ConfigurationName', 'c', '-Credential', '$null', 'vm1');
add('-UserName', 'me', 'host1', '-Port', '2222');
add('-KeyFilePath', 'k', 'host1');
add('-SSHTransport', '-HostName', 'h', '-Port', '22');
add('-RunAsAdministrator', '-ConfigurationName', 'c');
add('-AllowRedirection', 'http://a');
add('-Port', '5985', '-UseSSL');
add('-Port', '5985', '-UseSSL', 'srv01');
add('-EnableNetworkAccess', 'srv01');
add('-EnableNetworkAccess', '5');
add('-EnableNetworkAccess', G);
add('-Authentication', 'Basic');
add('-Authentication', 'Basic', 'srv01');
add('-ApplicationName', 'x', 'http://a');
add('-SessionOption', '$null', 'srv01');
add('-CertificateThumbprint', 'AB', 'srv01');
add('-Options', '@{}', 'h');
add('-Subsystem', 'powershell', 'h');
add('-ConnectingTimeout', '1', 'h');
add('-ConnectingTimeout', '1', '-UserName', 'u');
add('-CN', 'a');
add('-cU', 'http://a');
add('-vmguid', G);
add('-identityfilepath', 'k', '-hostname', 'h');
add('-Ver', 'a');
add('-Verb', '-ComputerName', 'a');
add('-ErrorVariable', 'e', '-ErrorVariable', 'f', 'a');
add('-PipelineVariable', 'p', 'a');
add('-ProgressAction', 'SilentlyContinue', 'a');
add('-InformationAction', 'Inquire', 'a');
add('-WarningAction', 'Ignore', 'a');
add('-WarningVariable', 'w', 'a');
add('-InformationVariable', 'i', 'a');
add('-OutVariable', 'o', 'a');
add('-OutBuffer', '100', 'a');
add('-OutBuffer', '2147483648', 'a');
add('-Debug:$false', 'a');
add('-Cn:a', '-cn:b');
add('-UseS', '-UseS', 'srv01');
add('-ComputerName', 'a', '-Authentication', 'Neg');
add('-ComputerName', 'a', '-Authentication', 'K');
add('-ComputerName', 'a', '-Authentication', 'Ker*');
add('srv01', '-ea', 'S');
add('srv01', '-ea', 'Si');
add('-HostName', 'h', '-ConnectingTimeout', '$null');
add('-ComputerName', 'a', '-SessionOption', '@{OperationTimeout=5}');
add('-ComputerName', 'a', '-SessionOption', '@{noencryption=$true}');
add('-VMName', 'v', '5');
add('-VMName', 'v', '$true');
add('-Name', '$true');
add('-ComputerName', 'a', '-ApplicationName', '$null');
add('-ComputerName', 'a', '-ConfigurationName', '$null');
add('-ComputerName', 'a', '-CertificateThumbprint', "''");
add('-HostName', 'h', '-UserName', '$null');
add('-HostName', 'h', '-Port', '22', '-Options', '@{Port=23}');

// Third batch: positional values of other types, numeric rounding and overflow, common parameters by position.
add('@{a=1}');
add('a,b');
add("@('a')");
add('$false');
add('5.5');
add('0x10', '-Name', 'n');
add('1kb', '-Id');
add(G, '-Credential', '$null');
add('-Id', '5', '6');
add('-Port', '2.5', '-HostName', 'h');
add('-Port', '3.5', '-HostName', 'h');
add('-Port', "'22.5'", '-HostName', 'h');
add('-Port', "'23.5'", '-HostName', 'h');
add('-Port', '0x10000', '-HostName', 'h');
add('-Port', '1e1', '-HostName', 'h');
add('-Port', '65535.5', '-HostName', 'h');
add('-HostName', 'h', '-ConnectingTimeout', '1.5e10');
add('-HostName', 'h', '-ConnectingTimeout', "'1.5e10'");
add('-HostName', 'h', '-ConnectingTimeout', '-2147483648');
add('-HostName', 'h', '-ConnectingTimeout', "'abc'");
add('-HostName', 'h', '-ConnectingTimeout', '$true');
add('-HostName', 'h', '-ConnectingTimeout', '@{}');
add('-Id', '1.5');
add('-Id', '-0.5');
add('-Id', "'0b11'");
add('-Id', "'5u'");
add('-Id', "' '");
add('-InstanceId', "' " + G + " '");
add('-InstanceId', '{' + G + '}');
add('-InstanceId', '$true');
add('-InstanceId', '@{}');
add('-VMId', G.replace(/-/g, '').toUpperCase(), '-Credential', '$null');
add('-ComputerName', '@{a=1}');
add('-ComputerName', '$false,$true');
add('-ComputerName', '1.0e2');
add('-ComputerName', "'a' ");
add('-ComputerName', '"a""b"');
add('-ComputerName', "'a''b'");
add('-ConnectionUri', '@{}');
add('-ConnectionUri', '5.5');
add('-ConnectionUri', "'http://a b'");
add('-ConnectionUri', 'file:///etc/passwd');
add('-Name', '@{}');
add('-Name', '0x10');
add('-ContainerId', '$false');
add('-Session', '$true');
add('-Session', '5.5');
add('-Options', '$true', '-HostName', 'h');
add('-HostName', 'h', '-Options', "@{a='b'}", '-Options', '@{}');
add('-HostName', 'h', '-Options', "@{a=@('x','y')}");
add('-HostName', 'h', '-Options', '@{a=0x10}');
add('-HostName', 'h', '-Options', '@{a=1kb}');
add('-HostName', 'h', '-Options', '@{1=2}');
add('srv01', '-ErrorAction', '1');
add('srv01', '-ErrorAction', '7');
add('srv01', '-ErrorAction', 'Continue,Stop');
add('srv01', '-WarningAction', 'Inq');
add('srv01', '-InformationAction', 'i');
add('srv01', '-ProgressAction', 'Co');
add('srv01', '-OutBuffer', '-1');
add('srv01', '-OutBuffer', '1.5');
add('srv01', '-OutBuffer', "''");
add('srv01', '-ev', "''");
add('srv01', '-wv', '$null');
add('srv01', '-iv', 'a,b');
add('srv01', '-pv', "''");
add('srv01', '-ov', '+o');
add('srv01', '-Verbose:$null');
add('srv01', '-Verbose:0');
add('srv01', "-Debug:'x'");
add('-Authentication', 'Credssp', '-CertificateThumbprint', 'AB', '-Cn', 'a');
add('-CertificateThumbprint', 'AB', '-Authentication', 'Default', '-Cn', 'a');
add('-CertificateThumbprint', 'AB', '-Authentication', 'Basic', '-Cn', 'a');
add('-CertificateThumbprint', '$null', '-Authentication', 'Basic', '-Cn', 'a');
add('-Authentication', 'NegotiateWithImplicitCredential', '-Cn', 'a');
add('-Authentication', 'Kerberos', '-Authentication', 'Basic', '-Cn', 'a');

add("''");
add('-UserName', 'u', "''");
add('-ConnectionUri', 'http://a:99999');
add('-ConnectionUri', "'http://'");
add('-ConnectionUri', 'http://:80');
add('-ConnectionUri', 'http://[::1]:5985/');
add('-ConnectionUri', 'https://u@h:5986/wsman');
add('-ComputerName', 'a', '-Authentication', 'Basic,Bogus');
add('-ComputerName', 'a', '-Authentication', 'Basic,Negotiate');
add('-ComputerName', 'a', '-Authentication', '1,2');
add('-HostName', 'h', '-ConnectingTimeout', "'99999999999'");
add('-HostName', 'h', '-ConnectingTimeout', '1e20');
add('-HostName', 'h', '-ConnectingTimeout', '-1e-5');
add('-ComputerName', 'a', '-SessionOption', '$true');
add('-Session', '@{}');
add('-Id', '$null', '-Verbose');

// Multi-fault lists (issue 10): several problems met in one argument list, in varied orders, so that the
// suite pins PowerShell's order (reparse, named one at a time, positionals, set check, unknown names,
// mandatory check) and not only each problem alone. Drawn from a seeded generator: the same lists every run.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(10_3);
const addList = add;
// A trailing `-Name:` is a ParserError of the whole command line (its message quotes the oracle's own line).
const addMulti = (...words) => {
  if (!/^[-\u2013]\S*:$/.test(words.at(-1) ?? '')) addList(...words);
};
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const shuffle = (xs) => {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
};
// Words split at spaces outside quotes ("'http://a b'" is one word).
const w = (text) => text.match(/(?:'[^']*'|"[^"]*"|[^\s'"])+/g);
// One target per set (named, aliased or positional).
const TARGETS = [
  '-ComputerName srv01',
  '-Cn srv01',
  'srv01',
  '-HostName h',
  '-HostName me@h:22',
  '-ConnectionUri http://a/wsman',
  '-CU http://a',
  '-Id 3',
  '3',
  '-Name n',
  `-InstanceId ${G}`,
  `-VMId ${G}`,
  `-VMGuid ${G}`,
  '-VMName v',
  '-ContainerId c',
  '-Session $null',
].map(w);
// Valid optional parameters of one set or several (so that two of them may conflict).
const EXTRAS = [
  '-Port 22',
  '-Port:5',
  '-UseSSL',
  '-UseSSL:$false',
  '-UseSSL:$true',
  '-SSHTransport',
  '-SSHTransport:$false',
  '-SSHTransport:$true',
  '-UserName u',
  '-KeyFilePath k',
  '-IdentityFilePath k',
  '-Subsystem s',
  '-ConnectingTimeout 5',
  '-Options @{a=1}',
  '-AllowRedirection',
  '-AllowRedirection:$false',
  '-RunAsAdministrator',
  '-RunAsAdministrator:$false',
  '-ApplicationName app',
  '-ConfigurationName cfg',
  '-Authentication Basic',
  '-Authentication Neg',
  '-CertificateThumbprint AB',
  '-EnableNetworkAccess',
  '-EnableNetworkAccess:$false',
  '-SessionOption @{NoEncryption=$true}',
  '-Verbose',
  '-Debug:$false',
  '-ea Stop',
  '-ErrorAction SilentlyContinue',
  '-ob 5',
  '-ev e',
].map(w);
// Values conversion or validation refuses.
const BAD_VALUES = [
  '-Port abc',
  '-Port 0',
  '-Port 70000',
  '-Port $null',
  "-Port ''",
  '-Port 1,2',
  '-Port:-1',
  '-Id abc',
  '-Id $null',
  '-Id 1,2',
  '-InstanceId zzz',
  '-InstanceId $null',
  '-VMId $null',
  '-VMId 5',
  '-Authentication Bogus',
  '-Authentication D',
  '-Authentication $null',
  "-ConnectionUri 'http://a b'",
  '-ConnectionUri http://a:99999',
  '-ConnectionUri $true',
  "-ComputerName ''",
  '-ComputerName $null',
  '-ComputerName a,b',
  '-HostName $null',
  "-HostName ''",
  "-UserName ''",
  '-KeyFilePath $null',
  "-VMName ''",
  '-ContainerId $null',
  '-Options @{}',
  '-Options 5',
  '-Options $null',
  '-SessionOption @{Bogus=1}',
  '-SessionOption 5',
  '-SessionOption $null',
  '-SessionOption $true',
  '-ErrorAction Bogus',
  '-ErrorAction Suspend',
  '-ea 9',
  '-ConnectingTimeout x',
  '-ConnectingTimeout 2147483648',
  '-Credential $null',
  '-Credential u',
  '-Credential 5',
  '-ob -1',
  "-ev ''",
  '-Session 5',
  "-Session 'x'",
  "-UseSSL:'x'",
  "-SSHTransport:'yes'",
  '-UseSSL:a,b',
  '-Name {x}',
  '-HostName {x}',
  '-CertificateThumbprint AB -Credential $null',
  '-UserName {x}',
  '-Port {x}',
  '-Options {x}',
  '-UseSSL:{x}',
  '-Authentication {x}',
  '-ConfigurationName {x}',
  '-ea {x}',
  '-SessionOption {x}',
  "-SessionOption @{OperationTimeout='x'}",
  '-SessionOption @{NoEncryption=5}',
  '-SessionOption @{}',
  '-Options @{1=2}',
  '-Options @{a=$null}',
  '-HostName a,b',
  '-UserName @()',
  "-KeyFilePath @('k')",
  '-ConfigurationName $null',
  "-ApplicationName ''",
  "-Subsystem ''",
  '-ConnectingTimeout $null',
].map(w);
// Names that match no parameter, with and without values.
const UNKNOWN = [
  '-Bogus',
  '-Bogus x',
  '-Bogus:x',
  '-Bogus:$false',
  '-WhatIf',
  '-Confirm',
  '-ComputerNameX a',
  '\u2013Foo',
  '-Foo: 5',
].map(w);
// Prefixes that match several parameters.
const AMBIGUOUS = [
  '-C x',
  '-Co x',
  '-S',
  '-Se $null',
  '-U x',
  '-P 5',
  '-A',
  '-E',
  '-Con x',
  '-In x',
  '-V',
  '-C:x',
  '-Ses:$null',
].map(w);
// A parameter whose next word looks like a parameter name.
const PARAM_LIKE = [
  '-IdentityFilePath -WhatIf',
  '-KeyFilePath -Bogus',
  '-ComputerName -Bogus',
  '-HostName -WhatIf',
  '-Port -Bogus',
  '-Id -X',
  '-UserName -Foo:x',
  '-ConfigurationName \u2013Foo',
  '-Name -C',
  '-VMName -Port',
  '-ea -Bogus',
  '-Port -UseSSL',
  '-UserName -Bogus:x',
].map(w);
// A parameter that needs a value at the end of the list.
const MISSING = ['-Port', '-UserName', '-ComputerName', '-ea', '-Credential', '-Options'].map(w);
const POSITIONALS = [
  'srv01',
  '5',
  G,
  'extra',
  '$null',
  '@{a=1}',
  'a,b',
  "''",
  '$true',
  '5.5',
  'http://a',
  'DOM\\me',
  '0x10',
  '-5',
  '{x}',
].map(w);
const FAULTS = [...BAD_VALUES, ...UNKNOWN, ...AMBIGUOUS, ...PARAM_LIKE, ...POSITIONALS, ...EXTRAS];

// Each fault with each target, before and after it.
for (const t of TARGETS) {
  for (const f of [...BAD_VALUES, ...UNKNOWN, ...AMBIGUOUS, ...PARAM_LIKE, ...POSITIONALS.slice(0, 8)]) {
    if (rnd() < 0.45) continue;
    addMulti(...t, ...f);
    addMulti(...f, ...t);
  }
  for (const m of MISSING) add(...t, ...m);
}
// Two faults, both orders, with or without a target between or around them.
for (let i = 0; i < 700; i++) {
  const a = pick(FAULTS);
  const b = pick(FAULTS);
  const t = rnd() < 0.5 ? pick(TARGETS) : [];
  const where = Math.floor(rnd() * 3);
  const lists = [
    [a, b],
    [b, a],
  ].map(([x, y]) =>
    where === 0 ? [...t, ...x, ...y] : where === 1 ? [...x, ...t, ...y] : [...x, ...y, ...t],
  );
  addMulti(...lists[0]);
  addMulti(...lists[1]);
}
// Conflicting sets with a bad value before, between or after them.
for (let i = 0; i < 300; i++) {
  const [t1, t2] = [pick([...TARGETS, ...EXTRAS]), pick([...TARGETS, ...EXTRAS])];
  const bad = pick([...BAD_VALUES, ...UNKNOWN, ...POSITIONALS]);
  addMulti(...shuffle([t1, t2, bad]).flat());
}
// Repeated parameters: the same one again under another spelling, with a good or bad value.
const REPEATS = [
  ['-ComputerName a', '-Cn b', '-ComputerName:c', '-Comp d', "-ComputerName ''", 'srv01'],
  ['-HostName h', '-HostName:h2', '-Hos h3', '-HostName $null'],
  ['-Port 22', '-Port:23', '-Po 24', '-Port abc', '-Port 0'],
  ['-UseSSL', '-UseSSL:$false', '-UseS', '-UseSSL:$true'],
  ['-SSHTransport', '-SSHTransport:$false', '-SSH'],
  ['-Id 1', '-Id:2', '-Id abc', '7'],
  ['-UserName u', '-UserN v', "-UserName ''", '-UserName:w'],
  ['-KeyFilePath k', '-IdentityFilePath k2', '-KeyFilePath $null'],
  ['-Verbose', '-vb', '-Verbose:$false'],
  ['-ea Stop', '-ErrorAction Continue', '-ea Bogus'],
  ['-Authentication Basic', '-Au Kerberos', '-Authentication Bogus'],
  ['-Options @{a=1}', '-Options @{}', '-Op @{b=2}'],
  ['-Credential $null', '-Credential u'],
  ['-VMName v', '-VMName:w', 'v2'],
].map((r) => r.map(w));
for (let i = 0; i < 350; i++) {
  const r = pick(REPEATS);
  const parts = [pick(r), pick(r)];
  if (rnd() < 0.6) parts.push(pick([...TARGETS, ...EXTRAS, ...BAD_VALUES, ...UNKNOWN, ...POSITIONALS]));
  if (rnd() < 0.3) parts.push(pick(FAULTS));
  addMulti(...shuffle(parts).flat());
}
// Three to six pieces of any kind, shuffled.
const ALL = [...TARGETS, ...EXTRAS, ...BAD_VALUES, ...UNKNOWN, ...AMBIGUOUS, ...PARAM_LIKE, ...POSITIONALS];
for (let i = 0; i < 900; i++) {
  const n = 3 + Math.floor(rnd() * 4);
  const parts = Array.from({ length: n }, () => pick(ALL));
  if (rnd() < 0.15) parts.push(pick(MISSING));
  addMulti(...parts.flat());
}
// Words shuffled one by one: values drift away from their parameters, names follow names.
for (let i = 0; i < 300; i++) {
  const n = 2 + Math.floor(rnd() * 3);
  addMulti(...shuffle(Array.from({ length: n }, () => pick(ALL)).flat()));
}
// Several positionals after named parameters of one set or another.
for (let i = 0; i < 200; i++) {
  const named = pick([...TARGETS, ...EXTRAS]);
  const pos = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(POSITIONALS));
  addMulti(...shuffle([named, ...pos]).flat());
}

// `--` ends the parameters: the words after it are arguments even when they look like names.
addMulti('--', 'srv01');
addMulti('srv01', '--');
addMulti('--', '-ComputerName', 'x');
addMulti('-ComputerName', '--', 'x');
addMulti('-Port', '--', '5', '-HostName', 'h');
addMulti('srv01', '-Port', '5', '--', '-UseSSL');
addMulti('--', '--', 'srv01');
addMulti('-');
addMulti('-ComputerName', '-');
addMulti('-ComputerName', '"-Port"');
addMulti('-ComputerName', "'-Port'");
addMulti('-Port:-Bogus', '-HostName', 'h');
addMulti('-ComputerName:-Port');
addMulti('-ComputerName', '-5');
addMulti('-Id:-5');
addMulti('-Port', '-5', '-HostName', 'h');
addMulti('-Id', '0x7FFFFFFF');
addMulti('-Id', '0xFFFFFFFF');
addMulti('-Port', '0b1', '-HostName', 'h');
addMulti('-VMName', 'v', '-Credential');
addMulti('srv01', '-Credential', '-UseSSL');
addMulti('-ComputerName', 'a', '-Port', '-Bogus:1');
addMulti('-Session', '-Bogus');
addMulti('-UseSSL', '-Bogus', 'a');
addMulti('-ErrorAction', '-Bogus');
addMulti('-Id', '-X', '-Id', '-Y');
addMulti('-Id', '-X', '-X');
// Variables the common parameters name are created once binding is done: read-only ones cannot be.
for (const v of [
  'true',
  'True',
  'false',
  'null',
  'PID',
  'HOME',
  "'?'",
  'Host',
  "'global:true'",
  "'+true'",
  'Error',
  'args',
])
  addMulti('srv01', '-ev', v);
for (const p of ['-ov', '-pv', '-wv', '-iv']) addMulti('srv01', p, 'PID');
addMulti('srv01', '-ev', 'true', '-ov', 'PID');
addMulti('-ev', 'true', '-Bogus');
addMulti('-ev', 'true', '-Port', 'abc');
addMulti('0x1F', '-PipelineVariable', '$true');
// Values inside hashtables are expression values: -Options keeps their .NET text, -SessionOption converts them
// to each property's type (TimeSpan, Int32, enums).
for (const v of [
  '1.0',
  '0x10',
  '$false',
  '@(1,2)',
  '1kb',
  '7d',
  '7.50d',
  '1e20',
  '-5',
  '+5',
  '5l',
  '{x}',
  '-0.0',
]) {
  addMulti('-HostName', 'h', '-Options', `@{k=${v}}`);
  addMulti('-ComputerName', 'a', '-SessionOption', `@{IdleTimeout=${v}}`);
  addMulti('-ComputerName', 'a', '-SessionOption', `@{MaxConnectionRetryCount=${v}}`);
  if (!['1e20', '{x}'].includes(v))
    addMulti('-ComputerName', 'a', '-SessionOption', `@{OutputBufferingMode=${v}}`);
}
// Signed words are strings in command mode; enum conversion of lists, blanks and untrimmed prefixes.
for (const v of ['+5', '-.5', '+.5', '-5.5', '+0x10', '+5kb', '.5']) addMulti('-Id', v);
for (const v of ['+5', '-5', '.5']) addMulti('-Options', v, '-HostName', 'h');
for (const v of [
  '@(1,$null)',
  '@(1,9)',
  '@("Stop",1)',
  '" Stop "',
  '" St"',
  '"Stop, Continue"',
  '"Stop,Bogus"',
])
  addMulti('srv01', '-ea', v);
for (const v of [
  '@($true)',
  '@(1.5)',
  '@(@{})',
  '@($null)',
  'a,$null',
  "' '",
  '99999999999',
  "'99999999999'",
])
  addMulti('srv01', '-ea', v);

// Random words: parameter spellings (names, aliases, prefixes, unknown names, `-Name:value`) and values of every
// kind, in any order and any number, so that the suite reaches the combinations no list above names.
const SPELLINGS = [
  ...[
    'HostName',
    'Options',
    'ComputerName',
    'Cn',
    'Session',
    'ConnectionUri',
    'URI',
    'CU',
    'InstanceId',
    'Id',
  ],
  ...[
    'Name',
    'EnableNetworkAccess',
    'VMId',
    'VMGuid',
    'VMName',
    'Credential',
    'ContainerId',
    'ConfigurationName',
  ],
  ...['RunAsAdministrator', 'Port', 'UseSSL', 'ApplicationName', 'AllowRedirection', 'SessionOption'],
  ...['Authentication', 'CertificateThumbprint', 'UserName', 'KeyFilePath', 'IdentityFilePath', 'Subsystem'],
  ...['ConnectingTimeout', 'SSHTransport', 'Verbose', 'vb', 'Debug', 'ErrorAction', 'ea', 'WarningAction'],
  ...['InformationAction', 'ProgressAction', 'ErrorVariable', 'ev', 'OutVariable', 'OutBuffer', 'ob'],
  ...['PipelineVariable', 'WarningVariable', 'InformationVariable', 'hostname', 'PORT', 'computername'],
];
const ODD_SPELLINGS = [
  'Bogus',
  'WhatIf',
  'Confirm',
  'X',
  'Hostnam',
  'Po',
  'Por',
  'Cred',
  'Conf',
  'Ho',
  'VMN',
  'VMI',
];
ODD_SPELLINGS.push(
  'Cont',
  'Ses',
  'Aut',
  'Cert',
  'Us',
  'UseS',
  'Ke',
  'Sub',
  'Conn',
  'SSHT',
  'Al',
  'Ru',
  'En',
  'Ap',
);
ODD_SPELLINGS.push('C', 'S', 'U', 'P', 'A', 'E', 'I', 'V', 'O', 'In', 'Co', 'Se', 'Na', 'W', 'Inf', 'Pr');
const VALUES = [
  ...[
    'srv02',
    'box',
    'u@box',
    'me@box:2222',
    '5',
    '22',
    '0',
    '-3',
    '65536',
    '3.5',
    '0x1F',
    '1kb',
    '5l',
    '7d',
    '1e2',
  ],
  ...[
    '$true',
    '$false',
    '$null',
    "''",
    '""',
    "'x y'",
    '"a b"',
    'a,b',
    '@()',
    '@(1)',
    '@{}',
    '@{k=1}',
    G,
    'not-guid',
  ],
  ...[
    '@{NoCompression=$true}',
    "@{OpenTimeout='00:00:05'}",
    "@{IdleTimeout='25:00'}",
    '@{OutputBufferingMode=5}',
  ],
  ...[
    '@{Bogus=2}',
    'http://h:5985/wsman',
    'https://h',
    'http://h:70000',
    'ftp://x',
    'Basic',
    'Kerberos',
    'Bogus',
  ],
  ...[
    'Stop',
    'Continue',
    'Ign',
    '{b}',
    'DOM\\u',
    '/k/id',
    'x-y',
    'env:x',
    'global:y',
    '+z',
    'Digest,Basic',
    '2',
  ],
  ...['+5', '-.5', "' '", '@($null)', '$null,$null', 'a,$null', '@(1,2)', "'5'", '1.0', '9999999999', 'True'],
];
for (let i = 0; i < 1500; i++) {
  const words = [];
  const n = 1 + Math.floor(rnd() * 7);
  for (let j = 0; j < n; j++) {
    if (rnd() < 0.5) {
      const name = rnd() < 0.8 ? pick(SPELLINGS) : pick(ODD_SPELLINGS);
      const dash = rnd() < 0.03 ? '\u2013' : '-';
      const form = rnd();
      if (form < 0.12) words.push(`${dash}${name}:${pick(VALUES)}`);
      else if (form < 0.15) words.push(`${dash}${name}:`, pick(VALUES));
      else words.push(`${dash}${name}`);
    } else words.push(pick(VALUES));
  }
  addMulti(...words);
}

export default cases;
