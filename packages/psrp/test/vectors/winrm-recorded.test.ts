import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deserializeClixml } from '../../src/clixml/deserialize.ts';
import { serializeClixml } from '../../src/clixml/serialize.ts';
import { EMPTY_GUID } from '../../src/guid.ts';
import { Destination, isKnownMessageType, messageTypeName } from '../../src/message/header.ts';
import { type DecodedMessage, readExchanges, recordedMessages, VECTOR_DIR, vectorFiles } from './recorded.ts';

const files = vectorFiles();

/** Files with no PSRP traffic: winrs (cmd shell) and WS-Management config operations. */
const NO_PSRP = /winrs|wsman_/;

/** RemotingDataObject.cs: a pipeline message has (type & 0x41000) == 0x41000. */
const isPipelineType = (t: number) => (t & 0x41000) === 0x41000;

describe(`recorded WinRM traffic from real Windows servers (${files.length} files)`, () => {
  const decoded = new Map<string, DecodedMessage[]>();
  const get = (f: string) => {
    let m = decoded.get(f);
    if (!m) {
      m = recordedMessages(f).messages;
      decoded.set(f, m);
    }
    return m;
  };

  it.each(files)(
    '%s: every PSRP message defragments and decodes, with a known type and the right destination',
    (f) => {
      expect(readExchanges(readFileSync(join(VECTOR_DIR, f), 'utf8')).length).toBeGreaterThan(0);
      const { messages, defragmenters } = recordedMessages(f);
      decoded.set(f, messages);
      if (!NO_PSRP.test(f)) expect(messages.length).toBeGreaterThan(0);
      for (const m of messages) {
        const where = `${f} ${m.direction} ${messageTypeName(m.messageType)}`;
        expect(isKnownMessageType(m.messageType), where).toBe(true);
        expect(m.destination, where).toBe(
          m.direction === 'request' ? Destination.Server : Destination.Client,
        );
        // A command's stream carries only that pipeline's messages; they name a pipeline.
        if (m.commandId !== undefined && m.direction === 'response')
          expect(isPipelineType(m.messageType), where).toBe(true);
        if (isPipelineType(m.messageType)) expect(m.pipelineId, where).not.toBe(EMPTY_GUID);
      }
      // No fragment is left half-read at the end of a recording.
      for (const [key, d] of defragmenters) expect(d.bufferedBytes, key).toBe(0);
    },
  );

  it.each(files.filter((f) => !NO_PSRP.test(f)))(
    '%s: every message body deserializes, and re-serializes to equal values',
    (f) => {
      for (const m of get(f)) {
        const where = `${f} ${m.direction} ${messageTypeName(m.messageType)}`;
        const text = Buffer.from(m.data).toString('utf8');
        if (text === '') {
          // Only END_OF_PIPELINE_INPUT has no body (MS-PSRP 2.2.2.19).
          expect(messageTypeName(m.messageType), where).toBe('END_OF_PIPELINE_INPUT');
          continue;
        }
        expect(text.charCodeAt(0), `${where}: the BOM is stripped`).not.toBe(0xfeff);
        const value = deserializeClixml(text);
        expect(deserializeClixml(serializeClixml(value)), where).toEqual(value);
      }
    },
  );

  it('covers the message types a client meets', () => {
    const seen = new Map<string, number>();
    for (const f of files)
      for (const m of get(f)) {
        const k = `${m.direction === 'request' ? 'C>S' : 'S>C'} ${messageTypeName(m.messageType)}`;
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }
    console.log(
      `[psrp] recorded messages by type: ${[...seen]
        .sort()
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
    for (const t of [
      'C>S SESSION_CAPABILITY',
      'C>S INIT_RUNSPACEPOOL',
      'C>S CREATE_PIPELINE',
      'S>C SESSION_CAPABILITY',
      'S>C APPLICATION_PRIVATE_DATA',
      'S>C RUNSPACEPOOL_STATE',
      'S>C PIPELINE_OUTPUT',
      'S>C PIPELINE_STATE',
      'S>C ERROR_RECORD',
    ])
      expect(seen.get(t), t).toBeGreaterThan(0);
  });
});
