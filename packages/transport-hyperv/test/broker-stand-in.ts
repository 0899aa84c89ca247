import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { streamChannel } from '../src/byte-channel.ts';
import type { HandshakeOptions } from '../src/handshake.ts';
import { validateToken } from '../src/handshake.ts';

/** What the stand-in's broker was told on socket 1. */
export interface BrokerSaw {
  domain: string;
  userName: string;
  password: string | undefined;
  configurationName: string | undefined;
}

export interface StandInOptions {
  /** The pwsh to start behind socket 2. */
  readonly pwsh: string;
  /** The password the broker accepts (any user). */
  readonly password: string;
  /** Speak the legacy protocol (no VERSION, no token). */
  readonly legacy?: boolean;
  /** The token socket 2 checks; default the one the broker gave. */
  readonly serverToken?: string;
  /** Instead of pwsh, socket 2 writes this and closes (error lines, an early end). */
  readonly socket2Says?: string;
}

const opts = (): HandshakeOptions => ({
  signal: new AbortController().signal,
  deadline: Date.now() + 20_000,
  readTimeoutMs: 10_000,
});

/**
 * A stand-in for the guest side of PowerShell Direct over TCP: socket 1 is a broker (vmicvmsession) that checks the
 * password and hands out a token; socket 2 checks the token with psremote's validateToken (proven against
 * PowerShell's own client by the oracle test) and then relays bytes to a real `pwsh -s`, as the broker's
 * `pwsh -v2so -token` does in a guest.
 */
export class BrokerStandIn {
  readonly saw: BrokerSaw[] = [];
  readonly children: ChildProcess[] = [];
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private token = '';
  ports = { broker: 0, server: 0 };
  legacyProbes = 0;

  private readonly o: StandInOptions;

  constructor(o: StandInOptions) {
    this.o = o;
  }

  async start(): Promise<this> {
    this.ports.broker = await this.listen((s) => void this.broker(s).catch(() => s.destroy()));
    this.ports.server = await this.listen((s) => void this.server(s).catch(() => s.destroy()));
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const c of this.children) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
    await Promise.all(this.servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  }

  private listen(handler: (s: Socket) => void): Promise<number> {
    const srv = createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.setNoDelay(true);
      handler(s);
    });
    this.servers.push(srv);
    return new Promise((resolve) =>
      srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)),
    );
  }

  private async broker(s: Socket): Promise<void> {
    const ch = streamChannel(s);
    const read = async (): Promise<Buffer> => Buffer.from(await ch.read(4096, AbortSignal.timeout(10_000)));
    const say = (t: string) => ch.write(Buffer.from(t, 'utf8'));
    let first = await read();
    if (first.toString('latin1') === 'VERSION') {
      if (this.o.legacy) {
        // A v1 broker takes VERSION for the domain; the client then probes and says FAIL.
        await say('PASS');
        await read(); // ?<PSDirectVMLegacy>
        await say('PASS');
        await read(); // EMPTYPW
        await say('FAIL');
        await read(); // FAIL
        this.legacyProbes++;
        s.end();
        return;
      }
      await say('VERSION_2');
      await read(); // VERSION_2
      await say('PASS');
      first = await read();
    }
    const saw: BrokerSaw = {
      domain: first.toString('utf16le'),
      userName: '',
      password: undefined,
      configurationName: undefined,
    };
    this.saw.push(saw);
    await say('PASS');
    saw.userName = (await read()).toString('utf16le');
    await say('PASS');
    const pw = (await read()).toString('latin1');
    if (pw === 'NONEMPTYPW') {
      await say('PASS');
      saw.password = (await read()).toString('utf16le');
    } else saw.password = '';
    if (saw.password !== this.o.password) {
      await say('FAIL');
      await read(); // FAIL
      s.end();
      return;
    }
    await say('CONF');
    const cf = (await read()).toString('latin1');
    if (cf === 'NONEMPTYCF') {
      await say('PASS');
      saw.configurationName = (await read()).toString('utf16le');
    }
    if (this.o.legacy) {
      s.end();
      return;
    }
    this.token = randomBytes(32).toString('base64');
    await say(`TOKEN ${this.token}`);
    await read(); // PASS
    s.end();
  }

  private async server(s: Socket): Promise<void> {
    const ch = streamChannel(s);
    if (!this.o.legacy) await validateToken(ch, this.o.serverToken ?? this.token, opts());
    ch.release();
    if (this.o.socket2Says !== undefined) {
      s.end(this.o.socket2Says);
      return;
    }
    const child = spawn(this.o.pwsh, ['-s', '-NoLogo', '-NoProfile'], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.children.push(child);
    child.stdout?.pipe(s);
    s.pipe(child.stdin as NodeJS.WritableStream);
    s.on('error', () => {});
    child.stdin?.on('error', () => {});
    s.on('close', () => {
      child.stdin?.end();
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 2000).unref();
    });
  }
}
