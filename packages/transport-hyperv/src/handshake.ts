import type { ByteChannel } from './byte-channel.ts';
import {
  CLIENT_VERSION,
  LEGACY_PROBE_USER,
  REPLY_SIZE,
  TOKEN_PREFIX,
  VERSION_PREFIX,
  VERSION_REQUEST,
} from './constants.ts';
import { hyperVErrors } from './errors.ts';

/**
 * PowerShell Direct's handshake, the client side, as a state machine over an abstract ByteChannel
 * (RemoteSessionHyperVSocket.cs: ExchangeCredentialsAndConfiguration, PerformTransportVersionAndTokenExchange,
 * Connect; protocols.md section 5). Platform-neutral: the same code runs over an AF_HYPERV socket on a Windows
 * host and over TCP in the tests.
 *
 * Wire rules: domain, user, password and configuration name travel as UTF-16LE with no terminator and no length;
 * every other message is ASCII; one send per message and the reply awaited before the next send (there is no
 * framing: PowerShell's own mock broker takes each message as exactly one receive of exactly its length).
 */

/** A user as PowerShell's NetworkCredential holds it: `DOMAIN\user` or `user@domain` split. */
export interface DirectCredential {
  readonly domain: string;
  readonly userName: string;
  readonly password: string;
}

export interface HandshakeOptions {
  /** Aborts the whole handshake (Ctrl+C). */
  readonly signal: AbortSignal;
  /** The end of OpenTimeout, as a Date.now() value: no read waits past it. */
  readonly deadline: number;
  /**
   * The longest one reply may take. PowerShell sets no receive timeout on the client; a broker that never
   * answers would hang it, so psremote bounds each read (go-psrp uses 10 s) within the OpenTimeout.
   */
  readonly readTimeoutMs: number;
}

/** What socket 1 gave: the token for socket 2 (V2 broker), or none (legacy broker: socket 2 needs none). */
export interface BrokerOutcome {
  readonly token: string | undefined;
  readonly legacy: boolean;
}

/** The result of one credential exchange: PowerShell's (success, authenticationToken) pair. */
export type ExchangeResult =
  | { readonly success: true; readonly token: string | undefined }
  /** The broker is a legacy one: the probe conversation was finished, the socket must be reopened. */
  | { readonly success: false };

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const utf16 = (s: string): Uint8Array => Buffer.from(s, 'utf16le');

/** Splits a PSCredential user name as PSCredential.GetNetworkCredential does (Credential.cs SplitUserDomain). */
export function splitUserDomain(input: string): { user: string; domain: string } {
  const slash = input.indexOf('\\');
  if (slash >= 0) return { user: input.slice(slash + 1), domain: input.slice(0, slash) };
  // `user@domain` splits, except an e-mail-like `foo@bar.com` (one @, a dot after it), which stays whole.
  const at = input.lastIndexOf('@');
  if (at >= 0 && (input.lastIndexOf('.') < at || input.indexOf('@') !== at))
    return { user: input.slice(0, at), domain: input.slice(at + 1) };
  return { user: input, domain: '' };
}

/** The credential PowerShell sends for a PSCredential: an empty domain becomes `localhost`. */
export function directCredential(userName: string, password: string): DirectCredential {
  const { user, domain } = splitUserDomain(userName);
  return { domain: domain || 'localhost', userName: user, password };
}

/**
 * The size PowerShell's ReceiveResponse reads with: ArrayPool<byte>.Shared.Rent(n) gives the next power of two,
 * 16 at least, and one Receive may fill all of it.
 */
export function receiveSize(n: number): number {
  let size = 16;
  while (size < n) size *= 2;
  return size;
}

/** Decodes a reply as PowerShell does: ASCII (a byte above 0x7F becomes `?`), trailing NULs trimmed. */
export function decodeReply(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b < 0x80 ? String.fromCharCode(b) : '?';
  return s.replace(/\0+$/, '');
}

/** The token in `TOKEN <t>`, trimmed of white space; undefined when the prefix is missing or nothing follows. */
export function extractToken(reply: string): string | undefined {
  if (!reply.startsWith(TOKEN_PREFIX)) return undefined;
  const token = reply.slice(TOKEN_PREFIX.length).replace(/^[\t-\r ]+|[\t-\r ]+$/g, '');
  return token.length > 0 ? token : undefined;
}

/** One reply: one read of PowerShell's size, bounded by the per-read timeout and the OpenTimeout. */
async function receive(
  ch: ByteChannel,
  n: number,
  o: HandshakeOptions,
  peer: 'broker' | 'server',
  step: string,
  max = receiveSize(n),
): Promise<string> {
  const ms = Math.min(o.readTimeoutMs, o.deadline - Date.now());
  if (ms <= 0) throw hyperVErrors.timedOut(`waiting for the ${peer}'s answer to ${step}`, o.readTimeoutMs);
  const timer = AbortSignal.timeout(ms);
  let bytes: Uint8Array;
  try {
    bytes = await ch.read(max, AbortSignal.any([o.signal, timer]));
  } catch (e) {
    if (timer.aborted && !o.signal.aborted)
      throw hyperVErrors.timedOut(`waiting for the ${peer}'s answer to ${step}`, ms);
    throw e;
  }
  if (bytes.length === 0)
    throw hyperVErrors.connectFailed(`The Hyper-V ${peer} closed the connection after ${step}.`);
  return decodeReply(bytes);
}

/**
 * Socket 1, the broker: the credential and configuration exchange (ExchangeCredentialsAndConfiguration). In V2
 * mode it asks for the transport version first and ends by receiving the token for socket 2. When the broker is a
 * legacy one (it answers VERSION with PASS or FAIL, taking it for the domain), the conversation is finished with a
 * probe user and an empty password, and `success: false` asks the caller to reconnect in legacy mode.
 */
export async function exchangeCredentials(
  ch: ByteChannel,
  cred: DirectCredential,
  configurationName: string | undefined,
  legacy: boolean,
  o: HandshakeOptions,
): Promise<ExchangeResult> {
  if (!legacy) {
    await ch.write(utf8(VERSION_REQUEST));
    const version = await receive(ch, REPLY_SIZE.version, o, 'broker', VERSION_REQUEST);
    if (!version.startsWith(VERSION_PREFIX)) {
      // A legacy broker read VERSION as the domain; end its conversation with a user no account can have.
      await ch.write(utf16(LEGACY_PROBE_USER));
      await receive(ch, REPLY_SIZE.ack, o, 'broker', 'the user name');
      await ch.write(utf8('EMPTYPW'));
      await receive(ch, REPLY_SIZE.ack, o, 'broker', 'EMPTYPW');
      await ch.write(utf8('FAIL'));
      return { success: false };
    }
    await ch.write(utf8(CLIENT_VERSION));
    // PASS or FAIL; PowerShell does not look at it.
    await receive(ch, REPLY_SIZE.ack, o, 'broker', CLIENT_VERSION);
  }

  // The broker answers the domain and the user with PASS; PowerShell does not check either answer.
  await ch.write(utf16(cred.domain || 'localhost'));
  await receive(ch, REPLY_SIZE.ack, o, 'broker', 'the domain');
  await ch.write(utf16(cred.userName));
  await receive(ch, REPLY_SIZE.ack, o, 'broker', 'the user name');

  // An empty password is announced, never sent: the broker would block in recv waiting for it.
  let answer: string;
  if (cred.password.length === 0) {
    await ch.write(utf8('EMPTYPW'));
    answer = await receive(ch, REPLY_SIZE.ack, o, 'broker', 'EMPTYPW');
  } else {
    await ch.write(utf8('NONEMPTYPW'));
    await receive(ch, REPLY_SIZE.ack, o, 'broker', 'NONEMPTYPW');
    const pw = utf16(cred.password);
    try {
      await ch.write(pw);
    } finally {
      pw.fill(0);
    }
    answer = await receive(ch, REPLY_SIZE.ack, o, 'broker', 'the password');
  }

  if (answer !== 'FAIL' && answer !== 'PASS' && answer !== 'CONF')
    throw hyperVErrors.invalidResponse('Broker', 'Credential');
  if (answer === 'FAIL') {
    await ch.write(utf8('FAIL'));
    throw hyperVErrors.invalidCredential();
  }
  if (answer === 'CONF') {
    // The guest supports configurations: name one, or say there is none.
    if (!configurationName) {
      await ch.write(utf8('EMPTYCF'));
    } else {
      await ch.write(utf8('NONEMPTYCF'));
      await receive(ch, REPLY_SIZE.ack, o, 'broker', 'NONEMPTYCF');
      await ch.write(utf16(configurationName));
    }
  } else {
    // PASS: an old guest without configurations (PowerShell still reads the token after it in V2 mode).
    await ch.write(utf8('PASS'));
  }

  if (legacy) return { success: true, token: undefined };
  const reply = await receive(ch, REPLY_SIZE.token, o, 'broker', 'the configuration');
  const token = extractToken(reply);
  if (token === undefined) throw hyperVErrors.invalidResponse('Broker', `Token ${reply}`);
  await ch.write(utf8('PASS'));
  return { success: true, token };
}

/**
 * Socket 2, the PowerShell server the broker started: transport version, then the token
 * (PerformTransportVersionAndTokenExchange). Not called for a legacy broker: socket 2 then starts straight into the
 * OutOfProc protocol.
 */
export async function exchangeToken(ch: ByteChannel, token: string, o: HandshakeOptions): Promise<void> {
  if (!token) throw hyperVErrors.invalidCredential();
  await ch.write(utf8(VERSION_REQUEST));
  const version = await receive(ch, REPLY_SIZE.version, o, 'server', VERSION_REQUEST);
  if (!version.startsWith(VERSION_PREFIX)) throw hyperVErrors.invalidResponse('Server', 'TransportVersion');
  await ch.write(utf8(CLIENT_VERSION));
  const ack = await receive(ch, REPLY_SIZE.ack, o, 'server', CLIENT_VERSION);
  if (ack !== 'PASS') throw hyperVErrors.invalidResponse('Server', 'TransportVersion');
  await ch.write(utf8(TOKEN_PREFIX + token));
  // PowerShell reads up to 256 bytes here. psremote takes 4, so OutOfProc data that would come in the same segment
  // as PASS stays in the stream (the server does not speak first today, so this changes nothing on the wire).
  const verdict = await receive(ch, REPLY_SIZE.tokenAck, o, 'server', 'the token', 4);
  if (verdict !== 'PASS') throw hyperVErrors.invalidCredential();
}

/** A connected socket the broker negotiation can close. */
export interface ClosableChannel extends ByteChannel {
  close(): Promise<void>;
}

export interface BrokerOptions extends HandshakeOptions {
  /**
   * Whether the host forbids the legacy fallback (HKLM\SOFTWARE\Microsoft\PowerShell RequirePsDirectAuthentication
   * is a non-zero DWORD). Asked only when the broker turns out to be a legacy one.
   */
  readonly requireAuthentication: () => boolean | Promise<boolean>;
}

/**
 * Socket 1 from start to end, as RemoteSessionHyperVSocketClient.Connect(isFirstConnection: true) does it: the
 * user name is checked before connecting; a legacy broker makes the client reconnect (closing socket 1 ends that
 * broker, connecting starts a new one) and repeat the exchange without version and token. Socket 1 is closed on
 * every outcome.
 */
export async function negotiateBroker(
  connect: () => Promise<ClosableChannel>,
  cred: DirectCredential,
  configurationName: string | undefined,
  o: BrokerOptions,
): Promise<BrokerOutcome> {
  if (!cred.userName) throw hyperVErrors.invalidUsername();
  let ch = await connect();
  try {
    const first = await exchangeCredentials(ch, cred, configurationName, false, o);
    if (first.success) return { token: first.token, legacy: false };
    if (await o.requireAuthentication()) throw hyperVErrors.negotiationFailed();
    await ch.close();
    ch = await connect();
    const second = await exchangeCredentials(ch, cred, configurationName, true, o);
    if (!second.success) throw hyperVErrors.invalidResponse('Broker', 'Credential');
    return { token: undefined, legacy: true };
  } finally {
    await ch.close().catch(() => {});
  }
}

/**
 * The server side of socket 2 (RemoteSessionHyperVSocketServer.ValidateToken): what `pwsh -v2so -token` runs in
 * the guest. psremote uses it for its broker stand-in and tests; its checks are PowerShell's: the first message
 * must be 7 bytes long (its content is not looked at), the client's version must start with `VERSION_`, the token
 * must match exactly. Sends FAIL before throwing.
 */
export async function validateToken(ch: ByteChannel, expected: string, o: HandshakeOptions): Promise<void> {
  const fail = async (e: Error): Promise<never> => {
    await ch.write(utf8('FAIL')).catch(() => {});
    throw e;
  };
  const request = await receiveOrEmpty(ch, VERSION_REQUEST.length + 4, o);
  if (request.length !== VERSION_REQUEST.length)
    await fail(hyperVErrors.invalidResponse('Client', `Version Request: ${request}`));
  await ch.write(utf8(CLIENT_VERSION));
  const version = await receiveOrEmpty(ch, CLIENT_VERSION.length + 4, o);
  if (!version.startsWith(VERSION_PREFIX))
    await fail(hyperVErrors.invalidResponse('Client', `Version Response: ${version}`));
  await ch.write(utf8('PASS'));
  // `TOKEN ` and up to ~100 characters (PowerShell reads 110, rented as 128).
  const reply = await receiveOrEmpty(ch, 110, o);
  const token = extractToken(reply);
  if (token === undefined) await fail(hyperVErrors.invalidResponse('Client', 'Token Response'));
  if (token !== expected) await fail(hyperVErrors.invalidCredential());
  await ch.write(utf8('PASS'));
}

async function receiveOrEmpty(ch: ByteChannel, n: number, o: HandshakeOptions): Promise<string> {
  try {
    return await receive(ch, n, o, 'server', 'the handshake');
  } catch (e) {
    if ((e as { errorId?: string }).errorId === 'VMSessionConnectFailed') return '';
    throw e;
  }
}
