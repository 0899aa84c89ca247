import { lookup } from 'node:dns/promises';
import { hostname, networkInterfaces } from 'node:os';

/**
 * A host name for Kerberos through the whole transport: WinRM refuses Kerberos to localhost and to IP addresses, so
 * the tests need a name that reaches the endpoint on this machine without editing /etc/hosts. The machine's own
 * `hostname` does when it resolves to a loopback address (the image's /etc/hosts maps it to 127.0.0.1; Debian's
 * default is 127.0.1.1, also loopback), or to an address of one of this machine's interfaces (the endpoint listens
 * there). A name that does not resolve, or resolves elsewhere, is no target for a test server.
 */
export interface KerberosHost {
  /** The name to connect to (ComputerName); the SPN is `HTTP/<name>`. */
  readonly name: string;
  /** The local address it resolves to: the endpoint listens there. */
  readonly address: string;
}

/** The machine's name and its loopback address, or why it cannot be used. */
export async function kerberosHost(): Promise<KerberosHost | string> {
  const name = hostname();
  if (!name || name.toLowerCase() === 'localhost')
    return `the hostname (${name || 'empty'}) is localhost: Kerberos to localhost is refused as WinRM refuses it`;
  try {
    const { address, family } = await lookup(name, { family: 4 });
    if (family === 4 && (address.startsWith('127.') || isLocalAddress(address))) return { name, address };
    return `the hostname ${name} resolves to ${address}, not an address of this machine (map it to 127.0.1.1 in /etc/hosts)`;
  } catch (e) {
    return `the hostname ${name} does not resolve (${(e as NodeJS.ErrnoException).code}); map it to 127.0.1.1 in /etc/hosts`;
  }
}

function isLocalAddress(address: string): boolean {
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === address));
}

/** For a test file: the reason to skip, or undefined. Not a missing peer: PSREMOTE_REQUIRE_PEERS does not change it. */
export function kerberosHostSkipReason(host: KerberosHost | string): string | undefined {
  if (typeof host !== 'string') return undefined;
  console.warn(`[transport-winrm] Kerberos tests through the transport skipped: ${host}`);
  return host;
}
