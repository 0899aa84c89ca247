import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isPSRemotingError, type PSRemotingError, type PsrpPayload } from '@psremote/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { endpointFromConnectionUri } from '../src/url/wsman-endpoint.ts';
import { WinrmConnection } from '../src/winrm-connection.ts';
import { basicAuth } from '../src/wsman/auth.ts';
import { WsmanClient } from '../src/wsman/client.ts';
import { ACTION, NS } from '../src/wsman/namespaces.ts';
import { decodeBase64 } from '../src/wsman/responses.ts';
import { child, childrenOf, parseXml, type XmlElement } from '../src/wsman/xml.ts';
import { type RecordedExchange, recordedExchanges } from './recordings.ts';

/**
 * Every recorded exchange with a real Windows server (pypsrp's recordings) replayed through WinrmConnection: a
 * replay server answers each of our requests with the recorded answer for the same operation and target (its
 * RelatesTo set to our MessageID), and checks that our request has the recorded request's shape: header
 * elements, mustUnderstand, options, selectors (the ShellId the server returned), body elements, CommandIds and
 * payload. The connection is driven by the recorded operations (Create = open, Command = createPipeline, Send,
 * Signal crtl_c/terminate = stop/closePipeline, Delete = close); its Receive loops run by themselves.
 */
const byFile = new Map<string, RecordedExchange[]>();
for (const x of recordedExchanges()) {
  const list = byFile.get(x.file) ?? [];
  list.push(x);
  byFile.set(x.file, list);
}
if (byFile.size === 0) throw new Error('the recorded WinRM vectors are missing');

const SUPPORTED = new Set<string>(Object.values(ACTION));
/** WS-Transfer Get (pypsrp reads the server's MaxEnvelopeSizekb) is not a shell operation: never sent, skipped. */
const GET = 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Get';

interface Parsed {
  readonly header: XmlElement;
  readonly body: XmlElement | undefined;
  readonly action: string;
  readonly messageId: string;
  readonly op: XmlElement | undefined;
}

function parse(xml: string): Parsed {
  const env = parseXml(xml);
  const header = child(env, NS.soap, 'Header') as XmlElement;
  const body = child(env, NS.soap, 'Body');
  return {
    header,
    body,
    action: child(header, NS.addressing, 'Action')?.text.trim() ?? '',
    messageId: child(header, NS.addressing, 'MessageID')?.text.trim() ?? '',
    op: body?.children[0],
  };
}

const q = (e: XmlElement) => `{${e.ns}}${e.local}`;

/** Structure and the values that must match: ids, options, locales, sizes, timeouts; not MessageID, To, SessionId. */
function signature(p: Parsed) {
  const h = p.header;
  const shape = (e: XmlElement): unknown => ({
    n: q(e),
    a: [...e.attrs.keys()].filter((k) => !(e.ns === NS.shell && e.local === 'Shell' && k === 'Name')).sort(),
    c: e.children.map(shape),
  });
  return {
    elements: h.children.map(q),
    mustUnderstand: h.children.map((c) => c.attrs.get(`{${NS.soap}}mustUnderstand`) ?? '-'),
    locale: child(h, NS.wsman, 'Locale')?.attrs.get(`{${NS.xml}}lang`),
    dataLocale: child(h, NS.wsmv, 'DataLocale')?.attrs.get(`{${NS.xml}}lang`),
    maxEnvelopeSize: child(h, NS.wsman, 'MaxEnvelopeSize')?.text,
    timeout: child(h, NS.wsman, 'OperationTimeout')?.text,
    resourceUri: child(h, NS.wsman, 'ResourceURI')?.text,
    options: childrenOf(child(h, NS.wsman, 'OptionSet'), NS.wsman, 'Option').map(
      (o) => `${o.attrs.get('Name')}=${o.text}${o.attrs.get('MustComply') === 'true' ? '!' : ''}`,
    ),
    selectors: childrenOf(child(h, NS.wsman, 'SelectorSet'), NS.wsman, 'Selector').map(
      (s) => `${s.attrs.get('Name')}=${s.text}`,
    ),
    body: p.body ? shape(p.body) : undefined,
    commandIds: [p.op, ...(p.op?.children ?? [])].map((e) => e?.attrs.get('CommandId')),
    // The PSRP payload: creationXml, Arguments or the Stream's text.
    payload: [
      child(p.op, NS.powershell, 'creationXml')?.text,
      child(p.op, NS.shell, 'Arguments')?.text,
      child(p.op, NS.shell, 'Stream')?.text,
    ],
  };
}

/** The target of a request: '' for the shell, else the CommandId it names. */
function targetOf(p: Parsed): string {
  const op = p.op;
  if (!op) return '';
  if (p.action === ACTION.Receive) return child(op, NS.shell, 'DesiredStream')?.attrs.get('CommandId') ?? '';
  if (p.action === ACTION.Send) return child(op, NS.shell, 'Stream')?.attrs.get('CommandId') ?? '';
  if (p.action === ACTION.Signal) return op.attrs.get('CommandId') ?? '';
  return '';
}

interface Recorded {
  readonly index: number;
  rerouted?: boolean;
  readonly request: Parsed;
  readonly response: string | null;
  readonly status: number;
}

interface Replay {
  readonly url: string;
  readonly mismatches: string[];
  readonly unexpected: string[];
  servedReceives: number;
  remaining(): Recorded[];
  close(): Promise<void>;
}

async function startReplay(queues: Map<string, Recorded[]>): Promise<Replay> {
  const mismatches: string[] = [];
  const unexpected: string[] = [];
  const held = new Set<() => void>();
  const state = { servedReceives: 0 };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const ours = parse(Buffer.concat(parts).toString('utf8'));
      const key = `${ours.action} ${targetOf(ours).toUpperCase()}`;
      const next = queues.get(key)?.shift();
      if (!next) {
        if (ours.action === ACTION.Receive) {
          // Nothing more was recorded for this target: hold it, as a server with nothing to say does.
          const release = () => res.destroy();
          held.add(release);
          req.once('close', () => held.delete(release));
          return;
        }
        unexpected.push(key);
        res.writeHead(500, { 'content-length': 0 }).end();
        return;
      }
      const a = signature(ours);
      const b = signature(next.request);
      for (const k of Object.keys(a) as Array<keyof typeof a>) {
        // pypsrp raises MaxEnvelopeSize after the Create once it knows the server (512000); we keep ours.
        if (k === 'maxEnvelopeSize' && ours.action !== ACTION.Create) continue;
        // pypsrp's Delete in its is_alive tests waited 30 s; ours keeps the OperationTimeout.
        if (k === 'timeout' && ours.action === ACTION.Delete) continue;
        // A Receive for a command the recording never created, served to the shell's Receive: its answer only.
        if (next.rerouted && (k === 'body' || k === 'commandIds')) continue;
        if (JSON.stringify(a[k]) !== JSON.stringify(b[k]))
          mismatches.push(
            `#${next.index} ${key}: ${k} ${JSON.stringify(a[k])?.slice(0, 300)} != recorded ${JSON.stringify(b[k])?.slice(0, 300)}`,
          );
      }
      if (ours.action === ACTION.Receive) state.servedReceives++;
      const text = (next.response ?? '').split(next.request.messageId).join(ours.messageId);
      const body = Buffer.from(text, 'utf8');
      res.writeHead(next.status, {
        'content-type': 'application/soap+xml;charset=UTF-8',
        'content-length': body.length,
      });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wsman`,
    mismatches,
    unexpected,
    get servedReceives() {
      return state.servedReceives;
    },
    remaining: () => [...queues.values()].flat(),
    async close() {
      for (const r of held) r();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const timeoutOf = (p: Parsed) =>
  Number(/^PT([\d.]+)S$/.exec(child(p.header, NS.wsman, 'OperationTimeout')?.text ?? '')?.[1]);

let replay: Replay | undefined;
afterEach(async () => {
  await replay?.close();
  replay = undefined;
});

describe('the recordings replayed through WinrmConnection', () => {
  let files = 0;
  for (const [file, exchanges] of byFile) {
    const actions = exchanges.map((x) => parse(x.request).action);
    // Disconnect/Reconnect/Connect/Enumerate are not part of Enter-PSSession; a Get-only file has no shell.
    if (actions.some((a) => !SUPPORTED.has(a) && a !== GET) || !actions.includes(ACTION.Create)) continue;
    files++;
    it(`${file}: every exchange, our requests in the recorded shape`, async () => {
      const recorded: Recorded[] = exchanges
        .map((x) => ({
          index: x.index,
          request: parse(x.request),
          response: x.response,
          status: x.httpStatus,
        }))
        .filter((r) => r.request.action !== GET);
      // The ids the server returned (a WinRM 2.0 server picks its own CommandIds): CommandId -> our pipeline id.
      const pipelineOf = new Map<string, string>();
      for (const r of recorded) {
        if (r.request.action !== ACTION.Command || !r.response) continue;
        const returned = /<rsp:CommandId>([^<]+)</.exec(r.response)?.[1] ?? '';
        pipelineOf.set(returned.toUpperCase(), (r.request.op?.attrs.get('CommandId') ?? '').toLowerCase());
      }
      const queues = new Map<string, Recorded[]>();
      for (const r of recorded) {
        let target = targetOf(r.request).toUpperCase();
        // A Receive for a command the recording never created (pypsrp's failure test) is served to the shell's.
        if (r.request.action === ACTION.Receive && target && !pipelineOf.has(target)) {
          target = '';
          r.rerouted = true;
        }
        const key = `${r.request.action} ${target}`;
        queues.set(key, [...(queues.get(key) ?? []), r]);
      }
      replay = await startReplay(queues);
      const create = recorded.find((r) => r.request.action === ACTION.Create) as Recorded;
      const receive = recorded.find((r) => r.request.action === ACTION.Receive);
      const h = create.request.header;
      const createOptions = childrenOf(child(h, NS.wsman, 'OptionSet'), NS.wsman, 'Option');
      const idle = child(create.request.op, NS.shell, 'IdleTimeOut')?.text;
      const endpoint = endpointFromConnectionUri({
        connectionUri: replay.url,
        configurationName: child(h, NS.wsman, 'ResourceURI')?.text.trim() ?? '',
      });
      const conn = new WinrmConnection({
        endpoint,
        createClient: (ep) =>
          new WsmanClient({
            endpoint: ep,
            auth: basicAuth('u', 'p'),
            maxEnvelopeSize: Number(child(h, NS.wsman, 'MaxEnvelopeSize')?.text),
            locale: child(h, NS.wsman, 'Locale')?.attrs.get(`{${NS.xml}}lang`) ?? 'en-US',
            dataLocale: child(h, NS.wsmv, 'DataLocale')?.attrs.get(`{${NS.xml}}lang`) ?? 'en-US',
            operationTimeoutSeconds: timeoutOf(create.request),
            ...(receive ? { receiveTimeoutSeconds: timeoutOf(receive.request) } : {}),
          }),
        noMachineProfile: createOptions.some((o) => o.attrs.get('Name') === 'WINRS_NOPROFILE'),
        ...(idle
          ? {
              idleTimeoutMs:
                timeoutOf({
                  header: parseXml(
                    `<x:a xmlns:x="${NS.wsman}"><x:OperationTimeout>${idle}</x:OperationTimeout></x:a>`,
                  ),
                } as Parsed) * 1000,
            }
          : {}),
        cancelTimeoutMs: 10_000,
      });
      const received: PsrpPayload[] = [];
      let failure: unknown;
      const pump = (async () => {
        try {
          for await (const p of conn.receive()) received.push(p);
        } catch (e) {
          failure = e;
        }
      })();
      const r = replay;
      const faultFiles = recorded.some(
        (x) =>
          x.request.action === ACTION.Receive &&
          /Fault/.test(x.response ?? '') &&
          !/TimedOut|2150858793/.test(x.response ?? ''),
      );
      let receivesBefore = 0;
      for (const x of recorded) {
        const p = x.request;
        if (p.action === ACTION.Receive) {
          receivesBefore++;
          continue;
        }
        // Let the Receive loops take what the server had sent before this operation.
        const want = receivesBefore;
        await vi
          .waitFor(() => expect(r.servedReceives).toBeGreaterThanOrEqual(want), { timeout: 5000 })
          .catch(() => undefined);
        if (failure) break;
        const op = p.op;
        switch (p.action) {
          case ACTION.Create:
            await conn.open({
              runspacePoolId: (op?.attrs.get('ShellId') ?? '').toLowerCase(),
              data: decodeBase64(child(op, NS.powershell, 'creationXml')?.text ?? ''),
            });
            break;
          case ACTION.Command: {
            const id = (op?.attrs.get('CommandId') ?? '').toLowerCase();
            await conn.createPipeline(id, {
              pipelineId: id,
              stream: 'Default',
              data: decodeBase64(child(op, NS.shell, 'Arguments')?.text ?? ''),
            });
            break;
          }
          case ACTION.Send: {
            const s = child(op, NS.shell, 'Stream') as XmlElement;
            const cmd = s.attrs.get('CommandId');
            await conn.send({
              pipelineId: cmd ? (pipelineOf.get(cmd.toUpperCase()) ?? cmd.toLowerCase()) : null,
              stream: s.attrs.get('Name') === 'pr' ? 'PromptResponse' : 'Default',
              data: decodeBase64(s.text),
            });
            break;
          }
          case ACTION.Signal: {
            const cmd = (op?.attrs.get('CommandId') ?? '').toUpperCase();
            const code = child(op, NS.shell, 'Code')?.text ?? '';
            const pid = pipelineOf.get(cmd) ?? cmd.toLowerCase();
            if (/ctrl_c|crtl_c/.test(code)) await conn.stopPipeline(pid);
            else await conn.closePipeline(pid);
            break;
          }
          case ACTION.Delete:
            await conn.close();
            break;
        }
      }
      const all = receivesBefore;
      await vi
        .waitFor(() => expect(r.servedReceives).toBeGreaterThanOrEqual(all), { timeout: 5000 })
        .catch(() => undefined);
      await conn.close();
      await pump;
      expect(r.mismatches).toEqual([]);
      // Where the recording never closed the shell (pypsrp's is_alive tests), our close still sends its Delete.
      const hasDelete = recorded.some((x) => x.request.action === ACTION.Delete);
      expect(r.unexpected.filter((k) => hasDelete || k !== `${ACTION.Delete} `)).toEqual([]);
      if (faultFiles) {
        // A Receive fault after open breaks the connection with PowerShell's words for it.
        expect(isPSRemotingError(failure)).toBe(true);
        const e = failure as PSRemotingError;
        expect(e.message).toMatch(
          /^Processing data from remote server 127\.0\.0\.1 failed with the following error message: .+ For more information, see the about_Remote_Troubleshooting Help topic\.$/,
        );
        expect(e.fullyQualifiedErrorId).toMatch(/,PSSessionStateBroken$/);
        expect(e.category).toBe('ConnectionError');
        return;
      }
      expect(failure).toBeUndefined();
      // Every recorded operation was sent by us, every recorded answer taken.
      expect(r.remaining().map((x) => `#${x.index} ${x.request.action.split('/').pop()}`)).toEqual([]);
      // And what came out of receive() is what the server sent, per target, in order.
      const want = new Map<string, Buffer[]>();
      for (const x of recorded) {
        if (x.request.action !== ACTION.Receive || !x.response || /Fault/.test(x.response)) continue;
        for (const m of x.response.matchAll(/<rsp:Stream ([^>]*?)(?:\/>|>([^<]*)<\/rsp:Stream>)/g)) {
          const cmd = /CommandId="([^"]+)"/.exec(m[1] ?? '')?.[1];
          const key = cmd ? (pipelineOf.get(cmd.toUpperCase()) ?? cmd.toLowerCase()) : '';
          want.set(key, [...(want.get(key) ?? []), Buffer.from(m[2] ?? '', 'base64')]);
        }
      }
      const got = new Map<string, Buffer[]>();
      for (const p of received) {
        const key = p.pipelineId ?? '';
        got.set(key, [...(got.get(key) ?? []), Buffer.from(p.data)]);
      }
      const hex = (m: Map<string, Buffer[]>) =>
        Object.fromEntries([...m].map(([k, v]) => [k, Buffer.concat(v).toString('hex')]).sort());
      expect(hex(got)).toEqual(hex(want));
    });
  }
  it('replayed the files that hold shell operations', () => {
    expect(files).toBeGreaterThanOrEqual(30);
  });
});
