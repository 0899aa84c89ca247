import type { PsrpEvent } from '../src/events.ts';
import { fragmentMessage } from '../src/fragment/fragment.ts';
import { EMPTY_GUID } from '../src/guid.ts';
import { encodeMessage, MessageType } from '../src/message/header.ts';
import { ClientRunspacePool, type ClientRunspacePoolOptions } from '../src/runspace-pool/client-pool.ts';

// A client pool driven by hand-made server messages, for the engine's unit tests.

let nextObjectId = 1n;

/** One server message to `pool`, fragmented as a server would (a fresh ObjectId each). */
export function serverMessage(
  pool: ClientRunspacePool,
  type: number,
  body: string,
  pipelineId = EMPTY_GUID,
  destination = 1,
): Buffer {
  const m = encodeMessage({
    destination,
    messageType: type,
    runspacePoolId: pool.runspacePoolId,
    pipelineId,
    data: Buffer.from(body),
  });
  return Buffer.concat(fragmentMessage(nextObjectId++, m, 32768));
}

/** The events the pool has ready. */
export function drain(pool: ClientRunspacePool): PsrpEvent[] {
  const out: PsrpEvent[] = [];
  for (let e = pool.nextEvent(); e; e = pool.nextEvent()) out.push(e);
  return out;
}

/** A pool the server has opened (capability 2.4, state Opened), its opening events drained. */
export function openedPool(options: ClientRunspacePoolOptions = {}): ClientRunspacePool {
  const pool = new ClientRunspacePool(options);
  pool.open();
  pool.receiveData(
    null,
    serverMessage(
      pool,
      MessageType.SESSION_CAPABILITY,
      '<Obj RefId="0"><MS><Version N="protocolversion">2.4</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>',
    ),
  );
  pool.receiveData(
    null,
    serverMessage(
      pool,
      MessageType.RUNSPACEPOOL_STATE,
      '<Obj RefId="0"><MS><I32 N="RunspaceState">2</I32></MS></Obj>',
    ),
  );
  drain(pool);
  return pool;
}
