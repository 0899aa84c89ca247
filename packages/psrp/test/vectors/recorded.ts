import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Defragmenter } from '../../src/fragment/fragment.ts';
import { decodeMessage, type PsrpMessage } from '../../src/message/header.ts';

/**
 * The recordings (pypsrp's test data, real Windows WinRM servers), kept beside this file with their licence
 * (winrm-recorded/LICENSE.pypsrp), so a clone of the repository has them.
 */
export const VECTOR_DIR = fileURLToPath(new URL('./winrm-recorded/', import.meta.url));

/** The recording files; none found is an error (they ship with the repository), never a silent skip. */
export function vectorFiles(): string[] {
  const files = existsSync(VECTOR_DIR)
    ? readdirSync(VECTOR_DIR)
        .filter((f) => f.endsWith('.yml') && !f.startsWith('_'))
        .sort()
    : [];
  if (files.length === 0) throw new Error(`the recorded WinRM vectors are missing: ${VECTOR_DIR}`);
  return files;
}

/** One HTTP exchange of a recording: the SOAP envelope sent and, unless the exchange failed, the answer. */
export interface Exchange {
  readonly request: string;
  readonly response: string | undefined;
}

function scalar(v: string): string {
  const t = v.trim();
  if (t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (t.startsWith('"') && t.endsWith('"')) return JSON.parse(t) as string;
  return t;
}

/**
 * Reads the recordings' YAML: a `messages:` list whose items start `- request: <one-line XML>` and may hold
 * `  response: <one-line XML>` and other keys we do not need. Anything else in the file is refused, so a
 * format change fails loudly instead of yielding nothing.
 */
export function readExchanges(yaml: string): Exchange[] {
  const out: Array<{ request: string; response: string | undefined }> = [];
  for (const line of yaml.split(/\r?\n/)) {
    if (line.trim() === '' || line.trimStart().startsWith('#') || line === 'messages:') continue;
    const req = /^- request:(.*)$/.exec(line);
    if (req) {
      out.push({ request: scalar(req[1] as string), response: undefined });
      continue;
    }
    const res = /^ {2}response:(.*)$/.exec(line);
    const last = out.at(-1);
    if (res && last) {
      last.response = scalar(res[1] as string);
      continue;
    }
    if (/^ {2,}\S/.test(line) && last) continue; // auth_error, transport_error, overrides...: not PSRP data
    throw new Error(`unexpected line in a recording: ${line.slice(0, 80)}`);
  }
  return out;
}

export type Direction = 'request' | 'response';

/** One base64 PSRP payload and where it travelled: direction, shell, and command (undefined: the pool). */
export interface Payload {
  readonly direction: Direction;
  readonly shellId: string;
  readonly commandId: string | undefined;
  readonly element: string;
  readonly bytes: Buffer;
}

const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];

/**
 * The PSRP payloads of one exchange. Only shells whose ResourceURI is a PowerShell endpoint carry PSRP;
 * winrs (cmd) and WS-Management config traffic is skipped by that test, not by failed parsing.
 */
export function psrpPayloads(x: Exchange): Payload[] {
  const resource = /<(?:\w+:)?ResourceURI\b[^>]*>([^<]*)</.exec(x.request)?.[1] ?? '';
  if (!resource.startsWith('http://schemas.microsoft.com/powershell/')) return [];
  const shellId = (
    /<(?:\w+:)?Selector Name="ShellId"[^>]*>([^<]*)</.exec(x.request)?.[1] ??
    /<(?:\w+:)?Shell\b[^>]*\bShellId="([^"]*)"/.exec(x.request)?.[1] ??
    ''
  ).toUpperCase();
  const out: Payload[] = [];
  const scan = (xml: string, direction: Direction) => {
    const add = (element: string, commandId: string | undefined, body: string) => {
      const b64 = body.replace(/\s+/g, '');
      if (b64 === '') return;
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64))
        throw new Error(`${element} holds no base64: ${b64.slice(0, 40)}`);
      out.push({ direction, shellId, commandId, element, bytes: Buffer.from(b64, 'base64') });
    };
    // creationXml, connectXml, connectResponseXml: pool data.
    for (const m of xml.matchAll(/<(?:\w+:)?(creationXml|connectXml|connectResponseXml)\b[^>]*>([^<]*)</g))
      add(m[1] as string, undefined, m[2] as string);
    // CommandLine/Arguments: a new pipeline; a client that lets the server pick its id finds it in the response.
    for (const m of xml.matchAll(/<(?:\w+:)?CommandLine\b([^>]*)>[\s\S]*?<(?:\w+:)?Arguments>([^<]*)</g)) {
      const id =
        attr(m[1] as string, 'CommandId') ?? /<(?:\w+:)?CommandId>([^<]*)</.exec(x.response ?? '')?.[1];
      add('Arguments', id?.toUpperCase(), m[2] as string);
    }
    // Stream: stdin/pr (request) or stdout (response), for a command when CommandId is given.
    for (const m of xml.matchAll(/<(?:\w+:)?Stream\b([^>]*?)(\/?)>([^<]*)/g)) {
      const attrs = m[1] as string;
      const name = attr(attrs, 'Name');
      if (name !== 'stdin' && name !== 'pr' && name !== 'stdout')
        throw new Error(`a PowerShell shell stream named ${name}`);
      if (m[2] === '/') continue;
      add(`Stream ${name}`, attr(attrs, 'CommandId')?.toUpperCase(), m[3] as string);
    }
  };
  scan(x.request, 'request');
  if (x.response) scan(x.response, 'response');
  return out;
}

export interface DecodedMessage extends PsrpMessage {
  readonly file: string;
  readonly direction: Direction;
  readonly shellId: string;
  readonly commandId: string | undefined;
}

/** Every PSRP message of a recording, defragmented per direction, shell and command, in completion order. */
export function recordedMessages(file: string): {
  messages: DecodedMessage[];
  defragmenters: Map<string, Defragmenter>;
} {
  const yaml = readFileSync(join(VECTOR_DIR, file), 'utf8');
  const defragmenters = new Map<string, Defragmenter>();
  const messages: DecodedMessage[] = [];
  for (const x of readExchanges(yaml)) {
    for (const p of psrpPayloads(x)) {
      const key = `${p.direction}|${p.shellId}|${p.commandId ?? 'pool'}`;
      let d = defragmenters.get(key);
      if (!d) {
        d = new Defragmenter();
        defragmenters.set(key, d);
      }
      for (const raw of d.push(p.bytes)) {
        messages.push({
          ...decodeMessage(raw),
          file,
          direction: p.direction,
          shellId: p.shellId,
          commandId: p.commandId,
        });
      }
    }
  }
  return { messages, defragmenters };
}
