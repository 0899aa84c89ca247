import { AF_HYPERV, SOCKADDR_HV_SIZE } from './constants.ts';

const GUID = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

/** Whether `s` is a GUID in its usual text form (with or without braces). */
export function isGuid(s: string): boolean {
  return GUID.test(s);
}

/**
 * A GUID's 16 bytes as Windows keeps them in memory (the GUID struct, and .NET's Guid.ToByteArray, which PowerShell
 * uses to build the socket address): the first three groups little-endian, the last two as written.
 */
export function guidBytes(guid: string): Buffer {
  const m = GUID.exec(guid);
  if (!m) throw new TypeError(`not a GUID: ${guid}`);
  const [, a, b, c, d, e] = m as unknown as [string, string, string, string, string, string];
  const out = Buffer.alloc(16);
  out.writeUInt32LE(Number.parseInt(a, 16), 0);
  out.writeUInt16LE(Number.parseInt(b, 16), 4);
  out.writeUInt16LE(Number.parseInt(c, 16), 6);
  Buffer.from(d + e, 'hex').copy(out, 8);
  return out;
}

/**
 * SOCKADDR_HV (hvsocket.h), 36 bytes: Family (u16 = AF_HYPERV), Reserved (u16 = 0), VmId, ServiceId
 * (PowerShell's HyperVSocketEndPoint.Serialize writes the same bytes).
 */
export function sockaddrHv(vmId: string, serviceId: string): Buffer {
  const out = Buffer.alloc(SOCKADDR_HV_SIZE);
  out.writeUInt16LE(AF_HYPERV, 0);
  guidBytes(vmId).copy(out, 4);
  guidBytes(serviceId).copy(out, 20);
  return out;
}
