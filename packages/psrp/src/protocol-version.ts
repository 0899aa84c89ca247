/** The PSRP version we announce (protocols.md 1.4: 2.3 is what Windows PowerShell 5.1 and PS 7 before 7.6 speak). */
export const CLIENT_PROTOCOL_VERSION = '2.3';
export const PS_VERSION = '2.0';
export const SERIALIZATION_VERSION = '1.1.0.1';

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The effective version is the lower of the two. */
export function negotiate(client: string, server: string): string {
  return compareVersions(client, server) <= 0 ? client : server;
}

/** 2.4+ (PS 7.6) dropped the session-key exchange: SecureStrings travel as plain UTF-16LE base64. */
export function needsSessionKey(negotiated: string): boolean {
  return compareVersions(negotiated, '2.4') < 0;
}
