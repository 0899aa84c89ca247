import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_ENVELOPE_SIZE,
  ENVELOPE_SLACK,
  isEnvelopeTooLarge,
  payloadBudget,
  smallerEnvelopeSize,
} from './budget.ts';
import { commandRequest, createShellRequest, type EnvelopeContext, sendRequest } from './envelope.ts';
import { WsmanFault, WsmanHttpError } from './errors.ts';
import { NS } from './namespaces.ts';

const ctx = (maxEnvelopeSize: number): EnvelopeContext => ({
  to: 'https://server2019.domain.example:5986/wsman?PSVersion=2.0',
  resourceUri: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
  maxEnvelopeSize,
  locale: 'en-US',
  dataLocale: 'en-US',
  operationTimeoutSeconds: 180,
  sessionId: 'uuid:7347921F-7F9F-4B9C-8422-BF47F380F8E3',
});
const id = '11AC8B01-5D0D-4A44-98F4-64E68FDEFB1F';
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('payloadBudget', () => {
  for (const max of [DEFAULT_MAX_ENVELOPE_SIZE, 512_000, 32_768, 8192]) {
    it(`fills a ${max}-byte envelope to within the slack, never over (Send, Command, Create)`, () => {
      const c = ctx(max);
      const send = payloadBudget(c, 'Send');
      const full = sendRequest(c, {
        shellId: id,
        commandId: id,
        stream: 'stdin',
        data: new Uint8Array(send),
      });
      expect(bytes(full.xml)).toBeLessThanOrEqual(max - ENVELOPE_SLACK);
      expect(bytes(full.xml)).toBeGreaterThan(max - ENVELOPE_SLACK - 8);
      const cmd = payloadBudget(c, 'Command');
      const cmdXml = commandRequest(c, { shellId: id, pipelineId: id, arguments: new Uint8Array(cmd) }).xml;
      expect(bytes(cmdXml)).toBeLessThanOrEqual(max - ENVELOPE_SLACK);
      const create = payloadBudget(c, 'Create');
      const createXml = createShellRequest(c, {
        runspacePoolId: id,
        name: 'Runspace1',
        creationXml: new Uint8Array(create),
      }).xml;
      expect(bytes(createXml)).toBeLessThanOrEqual(max - ENVELOPE_SLACK);
      // base64: 3 bytes per 4 characters, so the budget is about 3/4 of the room.
      expect(send).toBeGreaterThan(((max - 2000) * 3) / 4);
    });
  }

  it('is 113,907 bytes of fragments per Send at 150 KB for this endpoint', () => {
    // (153600 - 1467 bytes of envelope - 256 slack) / 4 * 3, rounded down to whole base64 quads.
    const skeleton = bytes(
      sendRequest(ctx(DEFAULT_MAX_ENVELOPE_SIZE), {
        shellId: id,
        commandId: id,
        stream: 'stdin',
        data: new Uint8Array(0),
      }).xml,
    );
    expect(skeleton).toBe(1467);
    expect(payloadBudget(ctx(DEFAULT_MAX_ENVELOPE_SIZE), 'Send')).toBe(113_907);
  });

  it('refuses an envelope size with no room for a fragment', () => {
    expect(() => payloadBudget(ctx(1500), 'Send')).toThrow(RangeError);
  });
});

describe('envelope too large', () => {
  it('recognises HTTP 413 and the EncodingLimit fault', () => {
    expect(isEnvelopeTooLarge(new WsmanHttpError(413, 'Request Entity Too Large'))).toBe(true);
    expect(isEnvelopeTooLarge(new WsmanHttpError(500, ''))).toBe(false);
    const f = (local: string, httpStatus = 500) =>
      new WsmanFault({
        httpStatus,
        code: { ns: NS.soap, local: 'Sender' },
        subcode: { ns: NS.wsman, local },
        reason: 'r',
        wsmanCode: undefined,
        machine: undefined,
        detail: 'd',
        faultDetail: undefined,
      });
    expect(isEnvelopeTooLarge(f('EncodingLimit'))).toBe(true);
    expect(isEnvelopeTooLarge(f('InvalidSelectors'))).toBe(false);
    expect(isEnvelopeTooLarge(f('Other', 413))).toBe(true);
    expect(isEnvelopeTooLarge(new Error('x'))).toBe(false);
  });

  it('steps down to 150 KB, then halves, and stops at the 8 KB minimum', () => {
    expect(smallerEnvelopeSize(512_000)).toBe(153_600);
    expect(smallerEnvelopeSize(153_600)).toBe(76_800);
    expect(smallerEnvelopeSize(12_000)).toBe(8192);
    expect(smallerEnvelopeSize(8192)).toBeUndefined();
  });
});
