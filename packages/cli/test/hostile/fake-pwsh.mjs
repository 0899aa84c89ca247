#!/usr/bin/env node
// A hostile `pwsh -s` for psremote's hostile-server kit (issue 10). Started by the CLI through `--pwsh <this file>`
// (the local process transport), it speaks OutOfProc on stdio: the real handshake through psrp's FakePsrpServer
// (session capability, runspace pool, key exchange, GET_COMMAND_METADATA for `enter`), then, for the first
// pipeline whose command is not `prompt`, the scenario named by HOSTILE_SCENARIO. Scenarios are listed in
// scenarios.mjs; each one is data a broken or malicious server could send.
//
// It imports @psremote/psrp's build (dist): run `pnpm -r build` first.
import {
  decodePacket,
  EMPTY_GUID,
  encodeFragment,
  encodePacket,
  errorRecordObject,
  hostCallBody,
  MessageType,
  PacketLineSplitter,
  PSDictionary,
  PSList,
  PSObject,
  PSPrimitive,
  pipelineStateBody,
  serializeClixml,
  testing,
} from '@psremote/psrp';

const scenario = process.env.HOSTILE_SCENARIO ?? 'normal';
const out = process.stdout;

// ---- output with backpressure -------------------------------------------------------------------------

let draining = Promise.resolve();
/** Writes one line; resolves when the pipe has room again (a slow reader slows the fake, not its memory). */
function writeLine(line) {
  if (!out.write(`${line}\n`)) {
    draining = new Promise((resolve) => out.once('drain', resolve));
    return draining;
  }
  return undefined;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function dataPacket(bytes, guid = EMPTY_GUID) {
  return encodePacket({ kind: 'Data', stream: 'Default', psGuid: guid, data: bytes });
}

let flushing = Promise.resolve();
/** Everything the in-memory server queued, as Data packets, in order (one flush at a time). */
function flush() {
  flushing = flushing.then(async () => {
    for (const frag of server.takeOutput()) {
      const w = writeLine(dataPacket(frag));
      if (w) await w;
    }
  });
  return flushing;
}

/** One message with a raw CLIXML body (hostile XML the serializer would never write). */
function sendRaw(messageType, body, pipelineId) {
  server.send(messageType, body, pipelineId);
}

// ---- values -------------------------------------------------------------------------------------------

const obj = (props, typeNames = ['System.Management.Automation.PSCustomObject', 'System.Object']) =>
  new PSObject({ typeNames, extended: props });

/** Each level holds two references to the level below: `levels` levels expand to 2^levels leaves. */
function referenceBomb(levels) {
  let node = obj([['Leaf', 'x']]);
  for (let i = 0; i < levels; i++)
    node = obj([
      ['A', node],
      ['B', node],
    ]);
  return node;
}

function selfCycle() {
  const o = obj([['Name', 'cyclic']]);
  o.extended.set('Self', o);
  return o;
}

function nested(depth) {
  let node = obj([['Leaf', 'bottom']]);
  for (let i = 0; i < depth; i++) node = obj([['Child', node]]);
  return node;
}

// ---- scenarios ----------------------------------------------------------------------------------------

const PIPELINE_OUTPUT = MessageType.PIPELINE_OUTPUT;

/** Runs the scenario on the user's pipeline `p`; returns when it is done sending. */
async function runScenario(p) {
  const id = p.pipelineId;
  switch (scenario) {
    case 'normal':
      p.output('hello');
      p.output(
        obj([
          ['Name', 'n'],
          ['Value', 1],
        ]),
      );
      p.finish('Completed');
      return;

    // -- reference expansion and cycles
    case 'ref-bomb':
      // ~2 KB on the wire, 2^26 objects when expanded.
      p.output(referenceBomb(26));
      p.finish('Completed');
      return;
    case 'ref-dag-20':
      p.output(referenceBomb(20));
      p.finish('Completed');
      return;
    case 'ref-cycle-base':
      // <Obj RefId="0"><Ref RefId="0"/></Obj>: an object that is its own base value.
      sendRaw(PIPELINE_OUTPUT, '<Obj RefId="0"><Ref RefId="0" /></Obj>', id);
      p.finish('Completed');
      return;
    case 'ref-cycle-props':
      p.output(selfCycle());
      p.finish('Completed');
      return;
    case 'ref-cycle-list': {
      // A list that contains itself, and a dictionary whose value is its own object.
      const listObj = new PSObject({ typeNames: ['System.Collections.ArrayList', 'System.Object'] });
      listObj.baseValue = new PSList('LST', [1, listObj]);
      const dictObj = new PSObject({ typeNames: ['System.Collections.Hashtable', 'System.Object'] });
      dictObj.baseValue = new PSDictionary([
        ['me', dictObj],
        ['list', listObj],
      ]);
      p.output(dictObj);
      p.finish('Completed');
      return;
    }
    case 'shared-string-amp': {
      // One object with a 4 MB ToString, referenced 2000 times: 8 GB when every reference is expanded.
      // No properties: the object is written as its ToString text.
      const big = new PSObject({ typeNames: ['Hostile.Big'], toStringValue: 'S'.repeat(4 << 20) });
      const list = new PSObject({ typeNames: ['System.Object[]', 'System.Array', 'System.Object'] });
      list.baseValue = new PSList(
        'LST',
        Array.from({ length: 2000 }, () => big),
      );
      p.output(list);
      p.finish('Completed');
      return;
    }
    case 'deep-200':
      p.output(nested(200));
      p.finish('Completed');
      return;
    case 'deep-100k':
      // 100,000 nested objects, written by hand (the serializer itself recurses).
      sendRaw(
        PIPELINE_OUTPUT,
        `${'<Obj><MS><Obj N="C">'.repeat(100_000)}<S>x</S>${'</Obj></MS></Obj>'.repeat(100_000)}`,
        id,
      );
      p.finish('Completed');
      return;

    // -- parser classes (bounded by the psrp engine)
    case 'decimal-100k':
      sendRaw(PIPELINE_OUTPUT, `<D>${'9'.repeat(100_000)}.${'9'.repeat(100_000)}x</D>`, id);
      sendRaw(PIPELINE_OUTPUT, `<Db>${'1'.repeat(100_000)}e</Db>`, id);
      p.finish('Completed');
      return;
    case 'cdata-10k':
      sendRaw(PIPELINE_OUTPUT, `<S>${'<![CDATA[ab]]>'.repeat(10_000)}</S>`, id);
      p.finish('Completed');
      return;
    case 'amp-60mb':
      sendRaw(PIPELINE_OUTPUT, `<S>${'&amp;'.repeat(12_000_000)}</S>`, id);
      p.finish('Completed');
      return;
    case 'object-200mb':
      sendRaw(PIPELINE_OUTPUT, `<S>${'x'.repeat(200_000_000)}</S>`, id);
      p.finish('Completed');
      return;
    case 'attrs-million': {
      // One OutOfProc line with a million attributes.
      const attrs = Array.from({ length: 1_000_000 }, (_, i) => ` a${i}='x'`).join('');
      await flush();
      await writeLine(`<Data${attrs} Stream='Default' PSGuid='${EMPTY_GUID}'>AAAA</Data>`);
      return 'hang';
    }
    case 'trickle-250mb': {
      // A fragment that declares 250 MB, then arrives 4 KB every 20 ms (hours). Only Ctrl+C can end the wait.
      await flush();
      const header = encodeFragment({
        objectId: 999_999n,
        fragmentId: 0n,
        start: true,
        end: true,
        blob: new Uint8Array(0),
      });
      const declared = Buffer.from(header);
      declared.writeUInt32BE(250_000_000, 17);
      await writeLine(dataPacket(declared));
      const chunk = Buffer.alloc(4096, 0x41);
      for (;;) {
        await sleep(20);
        const w = writeLine(dataPacket(chunk));
        if (w) await w;
      }
    }

    // -- transport misbehaviour
    case 'garbage-lines':
      p.output('before the garbage');
      await flush();
      for (let i = 0; i < 1000; i++) await writeLine(`garbage line ${i} \u0000\u001b[2J not a packet`);
      return 'hang';
    case 'endless-line': {
      // A line that never ends: 1 MiB chunks without a newline until the client gives up.
      await flush();
      const chunk = Buffer.alloc(1 << 20, 0x3c);
      for (;;) {
        if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
      }
    }
    case 'ignore-stop':
      // Streams output and never honours a stop (no SignalAck, no Stopped state).
      ignoreStop = true;
      for (let i = 0; ; i++) {
        p.output(`tick ${i}`);
        await flush();
        await sleep(100);
      }
    case 'output-flood':
    case 'output-flood-ctrl-c':
      // 100,000 outputs as fast as the pipe takes them (a terminal is slower); a stop ends them.
      for (let i = 0; i < 100_000 && p.state === 'Running'; i++) {
        p.output(`line ${i} ${'x'.repeat(60)}`);
        if (i % 64 === 0) await flush();
      }
      if (p.state === 'Running') p.finish('Completed');
      return;

    // -- what the host and the renderers get
    case 'host-call-storm':
      for (let i = 0; i < 50_000; i++) {
        p.hostCall(16 /* WriteLine2 */, [`host line ${i}`], true);
        if (i % 64 === 0) await flush();
      }
      p.finish('Completed');
      return;
    case 'host-cyclic-base':
    case 'host-cyclic-prop': {
      // WriteLine2 whose argument is a cycle: an object that is its own base value, or its own property.
      const mp = (body) =>
        `<Obj RefId="0"><MS><I64 N="ci">-100</I64><Obj N="mi" RefId="1"><I32>16</I32></Obj><Obj N="mp" RefId="2"><TN RefId="0"><T>System.Collections.ArrayList</T></TN><LST>${body}</LST></Obj></MS></Obj>`;
      const arg =
        scenario === 'host-cyclic-base'
          ? '<Obj RefId="3"><TN RefId="1"><T>Hostile.Cycle</T></TN><Ref RefId="3" /></Obj>'
          : '<Obj RefId="3"><TN RefId="1"><T>Hostile.Cycle</T></TN><MS><Ref N="me" RefId="3" /></MS></Obj>';
      sendRaw(MessageType.PIPELINE_HOST_CALL, mp(arg), id);
      p.output('after the host calls');
      p.finish('Completed');
      return;
    }
    case 'host-huge-arg':
      p.hostCall(16, [`${'h'.repeat(8_000_000)}`], true);
      p.finish('Completed');
      return;
    case 'progress-storm':
      for (let i = 0; i < 100_000; i++) {
        p.progress({
          activity: `activity ${i}`,
          activityId: i,
          statusDescription: 'working',
          percentComplete: i % 100,
        });
        if (i % 64 === 0) await flush();
      }
      p.output('done');
      p.finish('Completed');
      return;
    case 'error-cycle': {
      // An ErrorRecord whose Exception's InnerException is the exception itself, and whose TargetObject cycles.
      const rec = errorRecordObject({
        message: 'cyclic exception chain',
        fullyQualifiedErrorId: 'HostileCycle',
        targetObject: selfCycle(),
      });
      const ex = rec.get('Exception');
      if (ex instanceof PSObject) ex.adapted.set('InnerException', ex);
      server.send(MessageType.ERROR_RECORD, serializeClixml(rec), id);
      p.finish('Completed');
      return;
    }
    case 'error-message-cycle': {
      // The exception's Message is an object that is its own base value (ToString recursion).
      sendRaw(
        MessageType.ERROR_RECORD,
        '<Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.ErrorRecord</T></TN><MS><Obj N="Exception" RefId="1"><Props><Obj N="Message" RefId="2"><Ref RefId="2" /></Obj></Props></Obj><S N="FullyQualifiedErrorId">HostileMessageCycle</S></MS></Obj>',
        id,
      );
      p.finish('Completed');
      return;
    }
    case 'dict-200k': {
      const entries = Array.from(
        { length: 200_000 },
        (_, i) => `<En><I32 N="Key">${i}</I32><Nil N="Value" /></En>`,
      );
      sendRaw(
        PIPELINE_OUTPUT,
        `<Obj RefId="0"><TN RefId="0"><T>System.Collections.Hashtable</T></TN><DCT>${entries.join('')}</DCT></Obj>`,
        id,
      );
      p.finish('Completed');
      return;
    }
    case 'wide-list-1m':
      sendRaw(PIPELINE_OUTPUT, `<Obj RefId="0"><LST>${'<Nil />'.repeat(1_000_000)}</LST></Obj>`, id);
      p.finish('Completed');
      return;
    case 'state-storm': {
      // Thousands of pipeline states: for pipelines that do not exist, then the real end.
      for (let i = 0; i < 5000; i++) {
        const ghost = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
        server.send(MessageType.PIPELINE_STATE, pipelineStateBody('Completed'), ghost);
        if (i % 64 === 0) await flush();
      }
      p.output('after the storm');
      p.finish('Completed');
      return;
    }
    case 'no-handshake':
      return 'hang';
    default:
      process.stderr.write(`fake-pwsh: unknown scenario ${scenario}\n`);
      process.exit(64);
  }
}

// ---- the server ---------------------------------------------------------------------------------------

let ignoreStop = false;
let started = false;
const server = new testing.FakePsrpServer({
  onPipeline(p) {
    if (p.commandMetadata) {
      // Enter-PSSession's check: Count + 2 objects (RunspaceRef.cs).
      p.output(obj([['Count', 2]], ['Selected.Microsoft.PowerShell.Commands.GenericMeasureInfo']));
      p.output(obj([['Name', 'Out-Default']]));
      p.output(obj([['Name', 'Exit-PSSession']]));
      p.finish('Completed');
      return;
    }
    const command = p.spec.commands[0]?.command ?? '';
    if (command === 'prompt' || started) {
      p.output('PS /> ');
      p.finish('Completed');
      return;
    }
    started = true;
    queueMicrotask(() =>
      runScenario(p)
        .then(() => flush())
        .catch((e) => process.stderr.write(`fake-pwsh: ${e?.stack ?? e}\n`)),
    );
  },
});

const splitter = new PacketLineSplitter();
process.stdin.on('data', (chunk) => {
  // A server that never answers: not even the acknowledgements.
  if (scenario === 'no-handshake') return;
  for (const line of splitter.push(chunk)) {
    if (!line.trim()) continue;
    const packet = decodePacket(line);
    switch (packet.kind) {
      case 'Data':
        server.receive(packet.data);
        writeLine(encodePacket({ kind: 'DataAck', psGuid: packet.psGuid }));
        break;
      case 'Command':
        writeLine(encodePacket({ kind: 'CommandAck', psGuid: packet.psGuid }));
        break;
      case 'Signal':
        if (ignoreStop) break;
        writeLine(encodePacket({ kind: 'SignalAck', psGuid: packet.psGuid }));
        server.signalStop(packet.psGuid);
        break;
      case 'Close':
        writeLine(encodePacket({ kind: 'CloseAck', psGuid: packet.psGuid }));
        if (packet.psGuid === EMPTY_GUID) setTimeout(() => process.exit(0), 10);
        break;
      default:
        break;
    }
  }
  void flush();
});
process.stdin.on('end', () => process.exit(0));
// Keep the values the scenarios use referenced (some only in certain scenarios).
void PSPrimitive;
void hostCallBody;
