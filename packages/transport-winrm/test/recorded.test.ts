import { describe, expect, it } from 'vitest';
import {
  commandRequest,
  createShellRequest,
  deleteRequest,
  type EnvelopeContext,
  receiveRequest,
  sendRequest,
  signalRequest,
  type WsmanRequest,
} from '../src/wsman/envelope.ts';
import { WsmanFault } from '../src/wsman/errors.ts';
import { ACTION, NS } from '../src/wsman/namespaces.ts';
import { describeTransportError } from '../src/wsman/remoting-error.ts';
import {
  decodeBase64,
  isOperationTimeout,
  parseResponse,
  readCommandResponse,
  readCreateResponse,
  readReceiveResponse,
} from '../src/wsman/responses.ts';
import { child, childrenOf, parseXml, type XmlElement } from '../src/wsman/xml.ts';
import { recordedExchanges, VECTOR_DIR } from './recordings.ts';

const exchanges = recordedExchanges();
// The recordings live in the repository (psrp's test vectors): missing ones are a broken checkout, not a skip.
if (exchanges.length === 0) throw new Error(`the recorded WinRM vectors are missing: ${VECTOR_DIR}`);

const q = (e: XmlElement) => `{${e.ns}}${e.local}`;
const MU = `{${NS.soap}}mustUnderstand`;

/** Element names, attribute names and nesting: the structure, without ids, texts or attribute values. */
function shape(e: XmlElement, dropAttr?: (el: XmlElement, name: string) => boolean): unknown {
  return {
    n: q(e),
    a: [...e.attrs.keys()].filter((k) => !dropAttr?.(e, k)).sort(),
    c: e.children.map((c) => shape(c, dropAttr)),
  };
}

interface Parsed {
  readonly env: XmlElement;
  readonly header: XmlElement;
  readonly body: XmlElement | undefined;
}

function parse(xml: string): Parsed {
  const env = parseXml(xml);
  const header = child(env, NS.soap, 'Header') as XmlElement;
  return { env, header, body: child(env, NS.soap, 'Body') };
}

const hText = (p: Parsed, ns: string, local: string) => child(p.header, ns, local)?.text.trim() ?? '';

function options(p: Parsed) {
  return childrenOf(child(p.header, NS.wsman, 'OptionSet'), NS.wsman, 'Option').map((o) => ({
    name: o.attrs.get('Name'),
    mustComply: o.attrs.get('MustComply') ?? 'false',
    value: o.text,
  }));
}

function headerSignature(p: Parsed) {
  return {
    elements: p.header.children.map(q),
    mustUnderstand: p.header.children.map((c) => c.attrs.get(MU) ?? '-'),
    addressMU: child(child(p.header, NS.addressing, 'ReplyTo'), NS.addressing, 'Address')?.attrs.get(MU),
    replyTo: child(child(p.header, NS.addressing, 'ReplyTo'), NS.addressing, 'Address')?.text,
    locale: child(p.header, NS.wsman, 'Locale')?.attrs.get(`{${NS.xml}}lang`),
    dataLocale: child(p.header, NS.wsmv, 'DataLocale')?.attrs.get(`{${NS.xml}}lang`),
    maxEnvelopeSize: hText(p, NS.wsman, 'MaxEnvelopeSize'),
    timeout: hText(p, NS.wsman, 'OperationTimeout'),
    resourceUri: hText(p, NS.wsman, 'ResourceURI'),
    to: hText(p, NS.addressing, 'To'),
    options: options(p),
    selectors: childrenOf(child(p.header, NS.wsman, 'SelectorSet'), NS.wsman, 'Selector').map((s) =>
      s.attrs.get('Name'),
    ),
  };
}

function seconds(duration: string): number {
  return Number(/^PT([\d.]+)S$/.exec(duration)?.[1]);
}

/** Ours for the same operation, from the values of the recorded request. */
function ours(recorded: Parsed): WsmanRequest | undefined {
  const ctx: EnvelopeContext = {
    to: hText(recorded, NS.addressing, 'To'),
    resourceUri: hText(recorded, NS.wsman, 'ResourceURI'),
    maxEnvelopeSize: Number(hText(recorded, NS.wsman, 'MaxEnvelopeSize')),
    locale: child(recorded.header, NS.wsman, 'Locale')?.attrs.get(`{${NS.xml}}lang`) ?? '',
    dataLocale: child(recorded.header, NS.wsmv, 'DataLocale')?.attrs.get(`{${NS.xml}}lang`) ?? '',
    operationTimeoutSeconds: seconds(hText(recorded, NS.wsman, 'OperationTimeout')),
    sessionId: hText(recorded, NS.wsmv, 'SessionId'),
  };
  const action = hText(recorded, NS.addressing, 'Action');
  const shellId =
    childrenOf(child(recorded.header, NS.wsman, 'SelectorSet'), NS.wsman, 'Selector')[0]?.text ?? '';
  const b = recorded.body?.children[0];
  switch (action) {
    case ACTION.Create: {
      const opts = options(recorded);
      const idle = child(b, NS.shell, 'IdleTimeOut')?.text;
      return createShellRequest(ctx, {
        runspacePoolId: b?.attrs.get('ShellId') ?? '',
        name: 'Runspace1',
        creationXml: decodeBase64(child(b, NS.powershell, 'creationXml')?.text ?? ''),
        protocolVersion: opts.find((o) => o.name === 'protocolversion')?.value ?? '',
        noMachineProfile: opts.some((o) => o.name === 'WINRS_NOPROFILE'),
        ...(idle ? { idleTimeoutSeconds: seconds(idle) } : {}),
      });
    }
    case ACTION.Command:
      return commandRequest(ctx, {
        shellId,
        pipelineId: b?.attrs.get('CommandId') ?? '',
        arguments: decodeBase64(child(b, NS.shell, 'Arguments')?.text ?? ''),
      });
    case ACTION.Send: {
      const s = child(b, NS.shell, 'Stream') as XmlElement;
      const cmd = s.attrs.get('CommandId');
      return sendRequest(ctx, {
        shellId,
        stream: s.attrs.get('Name') as 'stdin' | 'pr',
        data: decodeBase64(s.text),
        ...(cmd ? { commandId: cmd } : {}),
      });
    }
    case ACTION.Receive: {
      const cmd = child(b, NS.shell, 'DesiredStream')?.attrs.get('CommandId');
      return receiveRequest(ctx, { shellId, ...(cmd ? { commandId: cmd } : {}) });
    }
    case ACTION.Signal:
      return signalRequest(ctx, {
        shellId,
        commandId: b?.attrs.get('CommandId') ?? '',
        code: child(b, NS.shell, 'Code')?.text ?? '',
      });
    case ACTION.Delete:
      return deleteRequest(ctx, { shellId });
    default:
      return undefined; // Enumerate, Get, Connect, Disconnect, Reconnect: not built here
  }
}

describe.skipIf(exchanges.length === 0)(`requests Windows accepted (${exchanges.length} exchanges)`, () => {
  const compared = new Map<string, number>();
  for (const x of exchanges) {
    const recorded = parse(x.request);
    const action = hText(recorded, NS.addressing, 'Action');
    const op = action.split('/').pop() as string;
    if (!Object.values(ACTION).includes(action as never)) continue;
    it(`${x.file} #${x.index}: our ${op} has the recorded shape`, () => {
      const req = ours(recorded) as WsmanRequest;
      const mine = parse(req.xml);
      expect(req.action).toBe(action);
      expect(hText(mine, NS.addressing, 'Action')).toBe(action);
      expect(hText(mine, NS.addressing, 'MessageID')).toMatch(/^uuid:[0-9A-F-]{36}$/);
      expect(headerSignature(mine)).toEqual(headerSignature(recorded));
      // The only structural difference: rsp:Shell/@Name, which OMI requires (Windows ignores it).
      const dropName = (el: XmlElement, name: string) =>
        el.ns === NS.shell && el.local === 'Shell' && name === 'Name';
      expect(mine.body && shape(mine.body, dropName)).toEqual(recorded.body && shape(recorded.body));
      // And the same payload text where there is one (ids of the recording were passed in).
      const b64 = (p: Parsed) => (p.body ? JSON.stringify(p.body).match(/[A-Za-z0-9+/=]{40,}/g) : null);
      expect(b64(mine)).toEqual(b64(recorded));
      compared.set(op, (compared.get(op) ?? 0) + 1);
    });
  }
  it('covered every operation psremote sends', () => {
    expect([...compared.keys()].sort()).toEqual(['Command', 'Create', 'Delete', 'Receive', 'Send', 'Signal']);
  });
});

const later = (x: { file: string; index: number }) =>
  exchanges.filter((e) => e.file === x.file && e.index > x.index).map((e) => e.request);
const selectorOf = (xml: string | undefined) =>
  /<wsman:Selector Name="ShellId">([^<]+)</.exec(xml ?? '')?.[1];

describe.skipIf(exchanges.length === 0)('responses of real Windows servers', () => {
  let faults = 0;
  let timeouts = 0;
  for (const x of exchanges) {
    if (x.response === null) continue;
    const recorded = parse(x.request);
    const action = hText(recorded, NS.addressing, 'Action');
    const request: WsmanRequest = { action, messageId: hText(recorded, NS.addressing, 'MessageID'), xml: '' };
    const response = x.response;
    it(`${x.file} #${x.index}: ${action.split('/').pop()} answer parses`, () => {
      if (/<s:Fault>/.test(response)) {
        let err: unknown;
        try {
          parseResponse(request, x.httpStatus, response);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(WsmanFault);
        const f = err as WsmanFault;
        expect(f.info.wsmanCode).toBe(Number(/WSManFault [^>]*Code="(\d+)"/.exec(response)?.[1]));
        expect(f.info.detail).not.toMatch(/</);
        expect(f.info.detail.length).toBeGreaterThan(20);
        const d = describeTransportError(f, 'PoolReceive', {
          computerName: 'srv01',
          resourceUri: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        });
        expect(d.message).toBe(
          `Processing data from remote server srv01 failed with the following error message: ${f.info.detail} For more information, see the about_Remote_Troubleshooting Help topic.`,
        );
        expect(d.errorCode).toBe((f.info.wsmanCode as number) | 0);
        faults++;
        if (isOperationTimeout(f)) timeouts++;
        return;
      }
      const r = parseResponse(request, x.httpStatus, response);
      expect(r.action).toBe(`${action}Response`);
      const b = recorded.body?.children[0];
      if (action === ACTION.Create) {
        const c = readCreateResponse(r);
        // The client goes on with the ShellId the server returned: a WinRM 2.0 server picks its own.
        expect(c.shellId).toBe(selectorOf(later(x).find((r) => selectorOf(r))));
        if (!x.file.includes('2.1')) expect(c.shellId).toBe(b?.attrs.get('ShellId'));
        expect(c.resourceUri).toBe(hText(recorded, NS.wsman, 'ResourceURI'));
      } else if (action === ACTION.Command) {
        const id = readCommandResponse(r).commandId;
        expect(later(x).some((r) => r.includes(`CommandId="${id}"`))).toBe(true);
        if (!x.file.includes('2.1')) expect(id).toBe(b?.attrs.get('CommandId'));
      } else if (action === ACTION.Receive) {
        const rr = readReceiveResponse(r);
        const raw = [...response.matchAll(/<rsp:Stream ([^>]*?)(?:\/>|>([^<]*)<\/rsp:Stream>)/g)];
        expect(rr.streams.length).toBe(raw.length);
        rr.streams.forEach((s, i) => {
          expect(s.name).toBe('stdout');
          expect(s.data.length).toBe(Buffer.from(raw[i]?.[2] ?? '', 'base64').length);
          expect(s.commandId).toBe(/CommandId="([^"]+)"/.exec(raw[i]?.[1] ?? '')?.[1]);
          // MS-PSRP 2.2.4: every stream holds whole fragments; the first one's blob length fits in the data.
          if (s.data.length > 0) expect(s.data.length).toBeGreaterThanOrEqual(21);
        });
        const state = /CommandState CommandId="([^"]+)" State="[^"]+\/(\w+)"/.exec(response);
        expect(rr.commandState?.state).toBe(state?.[2]);
        if (state?.[2] === 'Done') expect(rr.commandState?.exitCode).toBe(0);
      }
    });
  }
  it('saw the recorded faults, OperationTimeout among them', () => {
    expect(faults).toBe(5);
    expect(timeouts).toBe(2);
  });
});
