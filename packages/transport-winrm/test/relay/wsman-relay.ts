import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodePacket, EMPTY_GUID, encodePacket, PacketLineSplitter, splitFragments } from '@psremote/psrp';
import { ACTION, NS } from '../../src/wsman/namespaces.ts';
import { child, childrenOf, parseXml, type XmlElement } from '../../src/wsman/xml.ts';

/**
 * A small WS-Management server for tests only: Basic auth, one real `pwsh -s` (OutOfProc) per shell, the shell
 * operations of MS-WSMV / MS-PSRP 3.1.5.3 relayed to OutOfProc packets (Create's creationXml and Send as Data,
 * Command as Command+Data, crtl_c as Signal, terminate as Close, Delete as the pool's Close). So the transport
 * runs end to end against real PowerShell until the OMI peer and the Python endpoint (GSSAPI auth) are merged.
 * Its answers use other prefixes than our client (`env:`, `addr:`, `sh:`), as real servers do.
 */
export interface RelayOptions {
  readonly pwshPath: string;
  readonly user?: string;
  readonly password?: string;
  /** Requests whose body is larger get HTTP 413 (a server with a smaller MaxEnvelopeSizekb). */
  readonly maxRequestBytes?: number;
  /** Answer every request with this status and Location (a redirecting endpoint). */
  readonly redirectTo?: string;
  /** How long a Receive with nothing to say waits before the OperationTimeout fault; default 1000 ms. */
  readonly receivePollMs?: number;
  /** Pick our own ShellId and CommandIds, as a WinRM 2.0 server does, instead of the client's. */
  readonly ownIds?: boolean;
}

export interface RelayStats {
  readonly requests: Record<string, number>;
  /** Largest request body seen, bytes. */
  maxRequestBody: number;
  /** Every request's MaxEnvelopeSize, Locale and DataLocale, the last seen. */
  lastHeaders: { maxEnvelopeSize?: string; locale?: string; dataLocale?: string; operationTimeout?: string };
  /** The options of the last Create (name -> value) and its IdleTimeOut / Name. */
  lastCreate: { options: Record<string, string>; idleTimeout?: string; name?: string } | undefined;
  /** Signal codes received, in order. */
  readonly signals: string[];
  /** Sizes (bytes of fragments) of each Send, in order. */
  readonly sends: number[];
  /** HTTP 413s given. */
  tooLarge: number;
}

export interface RelayServer {
  readonly url: string;
  readonly port: number;
  readonly stats: RelayStats;
  /** The pwsh process ids of the live shells. */
  pids(): number[];
  close(): Promise<void>;
}

const SHELL_URI = 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell';
const PIPELINE_STATE = 0x00041006;
const TERMINAL = new Set([3, 4, 5]); // Stopped, Completed, Failed

interface Target {
  readonly chunks: Uint8Array[];
  /** Bytes of the PIPELINE_STATE message being assembled (it may span fragments). */
  stateBlob?: Buffer[];
  done: boolean;
  waiter?: () => void;
}

class Shell {
  readonly id: string;
  readonly child: ChildProcessWithoutNullStreams;
  readonly targets = new Map<string, Target>();
  /** Our CommandId -> the pipeline's PSGuid. */
  readonly commandIds = new Map<string, string>();
  private readonly acks = new Map<string, Array<() => void>>();
  dead = false;
  deathWaiters: Array<() => void> = [];
  constructor(id: string, pwshPath: string) {
    this.id = id;
    this.child = spawn(pwshPath, ['-s', '-NoLogo', '-NoProfile'], { stdio: 'pipe' });
    this.targets.set(EMPTY_GUID, { chunks: [], done: false });
    const splitter = new PacketLineSplitter();
    this.child.stdout.on('data', (b: Buffer) => {
      for (const line of splitter.push(b)) if (line.trim()) this.onLine(line.trim());
    });
    this.child.stderr.resume();
    this.child.on('exit', () => {
      this.dead = true;
      for (const t of this.targets.values()) t.waiter?.();
      for (const w of this.deathWaiters.splice(0)) w();
      for (const list of this.acks.values()) for (const a of list) a();
    });
    this.child.stdin.on('error', () => undefined);
  }

  private onLine(line: string): void {
    const p = decodePacket(line);
    if (p.kind === 'Data') {
      const t = this.target(p.psGuid);
      t.chunks.push(p.data);
      if (p.psGuid !== EMPTY_GUID) this.watchState(t, p.data);
      t.waiter?.();
      return;
    }
    const key = `${p.kind}:${p.psGuid}`;
    this.acks.get(key)?.shift()?.();
  }

  /** Marks a pipeline done once its PIPELINE_STATE with a final state has gone out. */
  private watchState(t: Target, data: Uint8Array): void {
    for (const f of splitFragments(data)) {
      const b = Buffer.from(f.buffer, f.byteOffset, f.byteLength);
      const flags = b[16] as number;
      const blob = b.subarray(21);
      if (flags & 1) t.stateBlob = blob.readUInt32LE(4) === PIPELINE_STATE ? [blob] : undefined;
      else if (t.stateBlob) t.stateBlob.push(blob);
      if (flags & 2 && t.stateBlob) {
        const text = Buffer.concat(t.stateBlob).subarray(40).toString('utf8');
        const state = Number(/<I32 N="PipelineState">(\d+)<\/I32>/.exec(text)?.[1]);
        if (TERMINAL.has(state)) t.done = true;
        t.stateBlob = undefined;
      }
    }
  }

  target(guid: string): Target {
    let t = this.targets.get(guid);
    if (!t) {
      t = { chunks: [], done: false };
      this.targets.set(guid, t);
    }
    return t;
  }

  /** Writes a packet and waits for its acknowledgement (or the death of pwsh). */
  async exchange(packet: Parameters<typeof encodePacket>[0], ack: string | undefined): Promise<void> {
    if (this.dead) throw new Error('pwsh is gone');
    const done = ack
      ? new Promise<void>((resolve) => {
          const key = `${ack}:${packet.psGuid.toLowerCase()}`;
          const list = this.acks.get(key) ?? [];
          list.push(resolve);
          this.acks.set(key, list);
        })
      : Promise.resolve();
    this.child.stdin.write(`${encodePacket(packet)}\n`);
    await done;
    if (this.dead) throw new Error('pwsh is gone');
  }

  async sendData(guid: string, stream: 'Default' | 'PromptResponse', data: Uint8Array): Promise<void> {
    for (const f of splitFragments(data))
      await this.exchange({ kind: 'Data', stream, psGuid: guid, data: f }, 'DataAck');
  }

  kill(): void {
    if (!this.dead) this.child.kill('SIGKILL');
  }
}

function esc(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string,
  );
}

function envelope(action: string, relatesTo: string, body: string): string {
  return (
    `<env:Envelope xmlns:env="${NS.soap}" xmlns:addr="${NS.addressing}" xmlns:wman="${NS.wsman}" xmlns:sh="${NS.shell}" xmlns:xfer="${NS.transfer}" xmlns:wf="${NS.wsmanFault}">` +
    `<env:Header><addr:Action>${esc(action)}</addr:Action><addr:MessageID>uuid:${randomUUID().toUpperCase()}</addr:MessageID>` +
    `<addr:To>${NS.addressing}/role/anonymous</addr:To><addr:RelatesTo>${esc(relatesTo)}</addr:RelatesTo></env:Header>` +
    `<env:Body>${body}</env:Body></env:Envelope>`
  );
}

function fault(relatesTo: string, subcode: string, code: number, message: string): string {
  return envelope(
    `${NS.addressing}/fault`,
    relatesTo,
    `<env:Fault><env:Code><env:Value>env:Receiver</env:Value><env:Subcode><env:Value>wman:${subcode}</env:Value></env:Subcode></env:Code>` +
      `<env:Reason><env:Text xml:lang="en-US">${esc(message)}</env:Text></env:Reason>` +
      `<env:Detail><wf:WSManFault Code="${code}" Machine="relay"><wf:Message>${esc(message)}</wf:Message></wf:WSManFault></env:Detail></env:Fault>`,
  );
}

const TIMED_OUT =
  'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.';
const SHELL_NOT_FOUND =
  'The request for the Windows Remote Shell with ShellId %s failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation.';
const HOST_DIED =
  'The WSMan provider host process did not return a proper response.  A provider in the host process may have behaved improperly.';

export async function startWsmanRelay(options: RelayOptions): Promise<RelayServer> {
  const user = options.user ?? 'relayuser';
  const password = options.password ?? 'Relay-Passw0rd!';
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const shells = new Map<string, Shell>();
  const stats: RelayStats = {
    requests: {},
    maxRequestBody: 0,
    lastHeaders: {},
    lastCreate: undefined,
    signals: [],
    sends: [],
    tooLarge: 0,
  };
  const pollMs = options.receivePollMs ?? 1000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const raw = Buffer.concat(parts);
    stats.maxRequestBody = Math.max(stats.maxRequestBody, raw.length);
    if (options.redirectTo) {
      res.writeHead(302, { location: options.redirectTo, 'content-length': 0 }).end();
      return;
    }
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="WSMAN"', 'content-length': 0 }).end();
      return;
    }
    if (options.maxRequestBytes !== undefined && raw.length > options.maxRequestBytes) {
      stats.tooLarge++;
      res.writeHead(413, { 'content-length': 0 }).end();
      return;
    }
    const env = parseXml(raw.toString('utf8'));
    const header = child(env, NS.soap, 'Header') as XmlElement;
    const body = child(env, NS.soap, 'Body');
    const action = child(header, NS.addressing, 'Action')?.text.trim() ?? '';
    const messageId = child(header, NS.addressing, 'MessageID')?.text.trim() ?? '';
    const op = action.split('/').pop() ?? action;
    stats.requests[op] = (stats.requests[op] ?? 0) + 1;
    stats.lastHeaders = {
      maxEnvelopeSize: child(header, NS.wsman, 'MaxEnvelopeSize')?.text,
      locale: child(header, NS.wsman, 'Locale')?.attrs.get(`{${NS.xml}}lang`),
      dataLocale: child(header, NS.wsmv, 'DataLocale')?.attrs.get(`{${NS.xml}}lang`),
      operationTimeout: child(header, NS.wsman, 'OperationTimeout')?.text,
    };
    const maxEnvelope = Number(child(header, NS.wsman, 'MaxEnvelopeSize')?.text ?? 153600);
    const shellId = childrenOf(child(header, NS.wsman, 'SelectorSet'), NS.wsman, 'Selector')
      .find((s) => s.attrs.get('Name') === 'ShellId')
      ?.text.trim();
    const reply = (xml: string, status = 200) => {
      const b = Buffer.from(xml, 'utf8');
      res.writeHead(status, {
        'content-type': 'application/soap+xml;charset=UTF-8',
        'content-length': b.length,
      });
      res.end(b);
    };
    const op0 = body?.children[0];
    if (action === ACTION.Create) {
      const id = options.ownIds ? randomUUID().toUpperCase() : (op0?.attrs.get('ShellId') ?? randomUUID());
      const opts: Record<string, string> = {};
      for (const o of childrenOf(child(header, NS.wsman, 'OptionSet'), NS.wsman, 'Option'))
        opts[o.attrs.get('Name') ?? ''] = o.text;
      stats.lastCreate = {
        options: opts,
        idleTimeout: child(op0, NS.shell, 'IdleTimeOut')?.text,
        name: op0?.attrs.get('Name'),
      };
      const shell = new Shell(id, options.pwshPath);
      shells.set(id, shell);
      const creation = Buffer.from(child(op0, NS.powershell, 'creationXml')?.text ?? '', 'base64');
      await shell.sendData(EMPTY_GUID, 'Default', creation);
      reply(
        envelope(
          `${ACTION.Create}Response`,
          messageId,
          `<xfer:ResourceCreated><addr:Address>http://relay/wsman</addr:Address><addr:ReferenceParameters><wman:ResourceURI>${SHELL_URI}</wman:ResourceURI><wman:SelectorSet><wman:Selector Name="ShellId">${id}</wman:Selector></wman:SelectorSet></addr:ReferenceParameters></xfer:ResourceCreated>` +
            `<sh:Shell><sh:ShellId>${id}</sh:ShellId><sh:ResourceUri>${SHELL_URI}</sh:ResourceUri><sh:State>Connected</sh:State></sh:Shell>`,
        ),
      );
      return;
    }
    const shell = shellId ? shells.get(shellId) : undefined;
    if (!shell || shell.dead) {
      reply(
        fault(messageId, 'InvalidSelectors', 2150858843, SHELL_NOT_FOUND.replace('%s', shellId ?? '')),
        500,
      );
      return;
    }
    const guidOf = (commandId: string | undefined) =>
      commandId ? (shell.commandIds.get(commandId.toUpperCase()) ?? commandId.toLowerCase()) : EMPTY_GUID;
    switch (action) {
      case ACTION.Command: {
        const pid = (op0?.attrs.get('CommandId') ?? '').toLowerCase();
        const commandId = options.ownIds ? randomUUID().toUpperCase() : pid.toUpperCase();
        shell.commandIds.set(commandId, pid);
        shell.target(pid);
        await shell.exchange({ kind: 'Command', psGuid: pid }, 'CommandAck');
        await shell.sendData(
          pid,
          'Default',
          Buffer.from(child(op0, NS.shell, 'Arguments')?.text ?? '', 'base64'),
        );
        reply(
          envelope(
            `${ACTION.Command}Response`,
            messageId,
            `<sh:CommandResponse><sh:CommandId>${commandId}</sh:CommandId></sh:CommandResponse>`,
          ),
        );
        return;
      }
      case ACTION.Send: {
        const s = child(op0, NS.shell, 'Stream') as XmlElement;
        const data = Buffer.from(s.text, 'base64');
        stats.sends.push(data.length);
        await shell.sendData(
          guidOf(s.attrs.get('CommandId')),
          s.attrs.get('Name') === 'pr' ? 'PromptResponse' : 'Default',
          data,
        );
        reply(envelope(`${ACTION.Send}Response`, messageId, '<sh:SendResponse/>'));
        return;
      }
      case ACTION.Receive: {
        const commandId = child(op0, NS.shell, 'DesiredStream')?.attrs.get('CommandId');
        const guid = guidOf(commandId);
        const t = shell.target(guid);
        if (t.chunks.length === 0 && !(t.done && guid !== EMPTY_GUID)) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, pollMs);
            t.waiter = () => {
              clearTimeout(timer);
              resolve();
            };
            req.once('close', () => resolve());
          });
          t.waiter = undefined;
        }
        if (res.destroyed) return;
        if (shell.dead && t.chunks.length === 0) {
          reply(fault(messageId, 'InternalError', 2150859134, HOST_DIED), 500);
          return;
        }
        if (t.chunks.length === 0 && !(t.done && guid !== EMPTY_GUID)) {
          reply(fault(messageId, 'TimedOut', 2150858793, TIMED_OUT), 500);
          return;
        }
        // As many fragments as fit the client's MaxEnvelopeSize (base64, with room for the envelope).
        const budget = Math.floor((maxEnvelope - 2048) / 4) * 3;
        let size = 0;
        const out: Uint8Array[] = [];
        while (t.chunks.length > 0) {
          const c = t.chunks[0] as Uint8Array;
          if (out.length > 0 && size + c.length > budget) break;
          out.push(c);
          size += c.length;
          t.chunks.shift();
        }
        const cmdAttr = commandId ? ` CommandId="${esc(commandId)}"` : '';
        const streams = out
          .map((c) => `<sh:Stream Name="stdout"${cmdAttr}>${Buffer.from(c).toString('base64')}</sh:Stream>`)
          .join('');
        const state =
          commandId && t.done && t.chunks.length === 0
            ? `<sh:CommandState CommandId="${esc(commandId)}" State="${NS.shell}/CommandState/Done"><sh:ExitCode>0</sh:ExitCode></sh:CommandState>`
            : commandId
              ? `<sh:CommandState CommandId="${esc(commandId)}" State="${NS.shell}/CommandState/Running"/>`
              : '';
        reply(
          envelope(
            `${ACTION.Receive}Response`,
            messageId,
            `<sh:ReceiveResponse>${streams}${state}</sh:ReceiveResponse>`,
          ),
        );
        return;
      }
      case ACTION.Signal: {
        const code = child(op0, NS.shell, 'Code')?.text.trim() ?? '';
        stats.signals.push(code);
        const guid = guidOf(op0?.attrs.get('CommandId'));
        if (code === 'powershell/signal/crtl_c')
          await shell.exchange({ kind: 'Signal', psGuid: guid }, 'SignalAck');
        else {
          const t = shell.target(guid);
          if (!t.done) await shell.exchange({ kind: 'Close', psGuid: guid }, 'CloseAck');
          t.done = true;
          t.waiter?.();
        }
        reply(envelope(`${ACTION.Signal}Response`, messageId, '<sh:SignalResponse/>'));
        return;
      }
      case ACTION.Delete: {
        // The pool's Close, then the process goes (pwsh -s acknowledges a pool Close only after a while).
        await shell.exchange({ kind: 'Close', psGuid: EMPTY_GUID }, undefined).catch(() => undefined);
        shell.kill();
        shells.delete(shell.id);
        reply(envelope(`${ACTION.Delete}Response`, messageId, ''));
        return;
      }
      default:
        reply(
          fault(messageId, 'ActionNotSupported', 2150858754, `The action ${action} is not supported.`),
          500,
        );
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-length': 0 });
      res.end();
      if (process.env.RELAY_DEBUG) console.error('relay:', e);
    });
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/wsman`,
    port,
    stats,
    pids: () => [...shells.values()].filter((s) => !s.dead).map((s) => s.child.pid as number),
    async close() {
      for (const s of shells.values()) s.kill();
      shells.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
