import { PassThrough } from 'node:stream';
import { DEFAULT_MAX_LINE_LENGTH } from '@psremote/psrp';
import { describe, expect, it } from 'vitest';
import { isPSRemotingError } from '../../src/errors/ps-remoting-error.ts';
import { createOutOfProcConnection } from '../../src/outofproc/connection.ts';

function pipes() {
  const input = new PassThrough();
  const output = new PassThrough();
  output.resume();
  return { input, output, description: 'test server', dispose: async () => {} };
}

async function firstError(iterable: AsyncIterable<unknown>): Promise<unknown> {
  try {
    for await (const _ of iterable) {
      // nothing is expected
    }
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('the OutOfProc connection and MaximumReceivedObjectSize', () => {
  it('refuses a Data line that trickles past one fragment of the limit, holding no more than that', async () => {
    const stream = pipes();
    const conn = createOutOfProcConnection(stream, { maxReceivedObjectSize: 1024 * 1024 });
    let done = false;
    const ended = firstError(conn.receive()).finally(() => {
      done = true;
    });
    // A fragment declaring 250 MB: the line never ends.
    stream.input.write("<Data Stream='Default' PSGuid='00000000-0000-0000-0000-000000000000'>");
    let written = 0;
    const piece = 'QUFB'.repeat(16 * 1024); // 64 KiB of base64
    while (written < 4 * 1024 * 1024 && !done) {
      stream.input.write(piece);
      written += piece.length;
      await new Promise((r) => setImmediate(r));
    }
    const err = await ended;
    expect(isPSRemotingError(err) && err.errorId).toBe('ReceivedObjectSizeExceededMaximumClient');
    expect(isPSRemotingError(err) && err.message).toContain('The allowed maximum object size is 1048576.');
    // Refused once the line was longer than base64 of 1 MiB + header (about 1.34 MiB), not at the 16 MiB line cap.
    expect(written).toBeLessThan(2 * 1024 * 1024);
  });

  it('without a limit ($null) a long line is only the generic protocol cap', async () => {
    const stream = pipes();
    const conn = createOutOfProcConnection(stream, { maxReceivedObjectSize: null });
    const ended = firstError(conn.receive());
    stream.input.write("<Data Stream='Default' PSGuid='00000000-0000-0000-0000-000000000000'>");
    stream.input.write('QUFB'.repeat(512 * 1024)); // 2 MiB: well under the 16 MiB line cap, no error
    stream.input.end('\n');
    const err = await ended;
    expect(isPSRemotingError(err) && err.errorId).not.toBe('ReceivedObjectSizeExceededMaximumClient');
  });

  it('a limit above what one line can carry: a line past the splitter cap is a protocol error, not the object limit', async () => {
    const stream = pipes();
    const conn = createOutOfProcConnection(stream, { maxReceivedObjectSize: 64 * 1024 * 1024 });
    let done = false;
    const ended = firstError(conn.receive()).finally(() => {
      done = true;
    });
    stream.input.write("<Data Stream='Default' PSGuid='00000000-0000-0000-0000-000000000000'>");
    let written = 0;
    const piece = 'QUFB'.repeat(256 * 1024); // 1 MiB of base64
    while (written < 32 * 1024 * 1024 && !done) {
      stream.input.write(piece);
      written += piece.length;
      await new Promise((r) => setImmediate(r));
    }
    const err = await ended;
    expect(isPSRemotingError(err) && err.errorId).toBe('PsrpMalformedPacket');
    expect(isPSRemotingError(err) && err.message).toContain(`exceeds ${DEFAULT_MAX_LINE_LENGTH} bytes`);
    expect(written).toBeLessThanOrEqual(DEFAULT_MAX_LINE_LENGTH + 1024 * 1024);
  });
});
