import type { PSValue } from '../clixml/value.ts';
import type { DecodedHostCall } from './decode-host-call.ts';

/** A host call from the server (MS-PSRP 2.2.2.15/2.2.2.27). */
export interface HostCall {
  /** -100 for void methods: no response. */
  readonly callId: bigint;
  readonly methodId: number;
  readonly methodName: string;
  /** The `mp` arguments as sent. */
  readonly args: readonly PSValue[];
  /** The same arguments, typed by method (decodeHostCall). */
  readonly decoded: DecodedHostCall;
}
