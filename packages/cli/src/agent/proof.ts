import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The greeting's proofs. A client does not send the agent's token itself: it sends a fresh nonce and
 * HMAC-SHA256(token, "client:" + nonce), and the agent answers with HMAC-SHA256(token, "agent:" + nonce). A process
 * that put itself where the agent listens (on Windows, anyone may create a named pipe of a predictable name first)
 * learns neither the token nor anything it can replay, and the client, finding no valid proof in the answer, sends
 * nothing more (no command line, environment or password). The roles are in what is signed, so one side's proof
 * cannot be reflected as the other's.
 */
export type ProofRole = 'client' | 'agent';

/** A nonce no longer than this is accepted in a greeting. */
export const MAX_NONCE_LENGTH = 128;

export function newNonce(): string {
  return randomBytes(32).toString('hex');
}

export function proofOf(token: string, role: ProofRole, nonce: string): string {
  return createHmac('sha256', token).update(`${role}:${nonce}`).digest('hex');
}

/** Constant-time comparison of a proof (or the token) received with the one expected. */
export function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}
