import { execFileSync, spawn } from 'node:child_process';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptSecureString, encryptSecureString, SessionKeyExchange } from '../src/crypto/session-key.ts';
import { PsrpProtocolError } from '../src/errors.ts';
import { Defragmenter, fragmentMessage } from '../src/fragment/fragment.ts';
import { EMPTY_GUID, guidFromBytes, guidToBytes, newGuid } from '../src/guid.ts';
import { sessionCapabilityBody } from '../src/message/codecs/client-messages.ts';
import { Destination, decodeMessage, encodeMessage, MessageType } from '../src/message/header.ts';
import { decodePacket, encodePacket, PacketLineSplitter } from '../src/outofproc/packet.ts';
import { findTestPwsh } from './pwsh.ts';

const pwsh = findTestPwsh();

/** Runs a pwsh script that reads JSON from $env:PSRP_IN and writes one JSON document. */
function runPwsh<T>(script: string, input: unknown): T {
  const out = execFileSync(pwsh as string, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', script], {
    env: { ...process.env, PSRP_IN: JSON.stringify(input) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out) as T;
}

describe.skipIf(!pwsh)('byte layers against real pwsh', () => {
  it('GUID byte order is .NET Guid.ToByteArray() both ways (MS-PSRP 2.2.1)', () => {
    const guids = [
      '00112233-4455-6677-8899-aabbccddeeff',
      'ffffffff-0000-ffff-0000-ffffffffffff',
      ...Array.from({ length: 6 }, () => newGuid()),
    ];
    const r = runPwsh<{ bytes: string[]; back: string[] }>(
      `$in = $env:PSRP_IN | ConvertFrom-Json
       $bytes = @($in.guids | ForEach-Object { [Convert]::ToHexString(([guid]$_).ToByteArray()).ToLower() })
       $back = @($in.raw | ForEach-Object { [guid]::new([Convert]::FromHexString($_)).ToString() })
       @{ bytes = $bytes; back = $back } | ConvertTo-Json -Compress`,
      { guids, raw: guids.map((g) => Buffer.from(guidToBytes(g)).toString('hex')) },
    );
    expect(r.bytes).toEqual(guids.map((g) => Buffer.from(guidToBytes(g)).toString('hex')));
    expect(r.back).toEqual(guids);
    for (const hex of r.bytes) expect(guids).toContain(guidFromBytes(Buffer.from(hex, 'hex')));
  });

  it('SecureString AES-256-CBC with a zero IV and PKCS7 agrees with .NET Aes both ways (protocols.md 1.7)', () => {
    const key = randomBytes(32);
    const texts = ['', 'p', 'P@ssw0rd!', 'exactly 8 chars', 'ünïcødé – 🎵 密码', 'x'.repeat(1000)];
    const r = runPwsh<{ plain: string[]; cipher: string[] }>(
      `$in = $env:PSRP_IN | ConvertFrom-Json
       $aes = [System.Security.Cryptography.Aes]::Create()
       $aes.Key = [Convert]::FromBase64String($in.key)
       $aes.IV = [byte[]]::new(16)
       $aes.Mode = 'CBC'; $aes.Padding = 'PKCS7'
       $plain = @($in.ours | ForEach-Object {
         $c = [Convert]::FromBase64String($_)
         [Text.Encoding]::Unicode.GetString($aes.CreateDecryptor().TransformFinalBlock($c, 0, $c.Length)) })
       $cipher = @($in.texts | ForEach-Object {
         $p = [Text.Encoding]::Unicode.GetBytes([string]$_)
         [Convert]::ToBase64String($aes.CreateEncryptor().TransformFinalBlock($p, 0, $p.Length)) })
       @{ plain = $plain; cipher = $cipher } | ConvertTo-Json -Compress`,
      { key: key.toString('base64'), texts, ours: texts.map((t) => encryptSecureString(t, key)) },
    );
    expect(r.plain).toEqual(texts);
    // .NET and we must produce the same bytes (deterministic: fixed key and IV) and read each other.
    expect(r.cipher).toEqual(texts.map((t) => encryptSecureString(t, key)));
    expect(r.cipher.map((c) => decryptSecureString(c, key))).toEqual(texts);
  });

  it('.NET imports our PUBLICKEYBLOB and its SIMPLEBLOB-style answer gives back the session key', () => {
    const kx = new SessionKeyExchange();
    const sessionKey = randomBytes(32);
    // What a Windows PowerShell server does (CryptoUtils.cs): import the CAPI blob, RSA PKCS#1 v1.5 encrypt the
    // AES-256 key, reverse the ciphertext (CAPI is little-endian) and prefix the 12-byte SIMPLEBLOB header.
    const r = runPwsh<{ header: string; cipher: string; modulus: string }>(
      `$in = $env:PSRP_IN | ConvertFrom-Json
       $rsa = [System.Security.Cryptography.RSACryptoServiceProvider]::new()
       $rsa.ImportCspBlob([Convert]::FromBase64String($in.blob))
       $p = $rsa.ExportParameters($false)
       $c = $rsa.Encrypt([Convert]::FromBase64String($in.key), $false)
       [Array]::Reverse($c)
       @{ cipher = [Convert]::ToBase64String($c); modulus = [Convert]::ToHexString($p.Modulus).ToLower();
          header = [Convert]::ToHexString($rsa.ExportCspBlob($false)[0..19]).ToLower() } | ConvertTo-Json -Compress`,
      { blob: kx.publicKeyBlob(), key: sessionKey.toString('base64') },
    );
    const blob = Buffer.from(kx.publicKeyBlob(), 'base64');
    // .NET re-exports exactly our header, and reads our little-endian modulus as the big-endian one it holds.
    expect(r.header).toBe(blob.subarray(0, 20).toString('hex'));
    expect(r.modulus).toBe(Buffer.from(blob.subarray(20)).reverse().toString('hex'));
    const simple = Buffer.concat([
      Buffer.from('0102000010660000' + '00a40000', 'hex'),
      Buffer.from(r.cipher, 'base64'),
    ]);
    expect(kx.hasSessionKey).toBe(false);
    kx.acceptEncryptedSessionKey(simple.toString('base64'));
    expect(kx.hasSessionKey).toBe(true);
    expect(Buffer.from(kx.sessionKey as Uint8Array).equals(sessionKey)).toBe(true);
    // The same blob fed to node's own RSA gives an equal public key (a second, independent parser).
    const n = Buffer.from(blob.subarray(20)).reverse();
    const pub = createPublicKey({
      key: { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' },
      format: 'jwk',
    });
    const again = new SessionKeyExchange();
    expect(() =>
      again.acceptEncryptedSessionKey(
        Buffer.concat([
          simple.subarray(0, 12),
          Buffer.from(
            publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, sessionKey),
          ).reverse(),
        ]).toString('base64'),
      ),
    ).toThrowError(PsrpProtocolError); // encrypted for kx's key, not for `again`'s
  });

  it.each([32_768, 100, 22])(
    'pwsh -s reassembles our SESSION_CAPABILITY in %d-byte fragments, acks each Data, answers, and acks Close',
    async (fragmentSize) => {
      const child = spawn(pwsh as string, ['-s', '-NoLogo', '-NoProfile'], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const splitter = new PacketLineSplitter();
      const lines: string[] = [];
      let wake: (() => void) | undefined;
      child.stdout.on('data', (c: Buffer) => {
        lines.push(...splitter.push(c));
        wake?.();
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const next = async (): Promise<string> => {
        const deadline = Date.now() + 30_000;
        while (lines.length === 0) {
          if (Date.now() > deadline) throw new Error(`pwsh -s sent nothing within 30 s; stderr: ${stderr}`);
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 500);
          });
        }
        return lines.shift() as string;
      };
      try {
        const rpid = newGuid();
        const msg = encodeMessage({
          destination: Destination.Server,
          messageType: MessageType.SESSION_CAPABILITY,
          runspacePoolId: rpid,
          pipelineId: EMPTY_GUID,
          data: Buffer.from(sessionCapabilityBody()),
        });
        const frags = fragmentMessage(1n, msg, fragmentSize);
        expect(frags.length).toBe(Math.ceil(msg.length / (fragmentSize - 21)));
        const defrag = new Defragmenter();
        let capability: ReturnType<typeof decodeMessage> | undefined;
        let acks = 0;
        // protocols.md 3.2: one Data at a time, each acked before the next.
        for (const frag of frags) {
          child.stdin.write(
            `${encodePacket({ kind: 'Data', stream: 'Default', psGuid: EMPTY_GUID, data: frag })}\n`,
          );
          for (let acked = false; !acked; ) {
            const line = await next();
            const p = decodePacket(line);
            if (p.kind === 'DataAck') {
              // PowerShell writes exactly what we write for the same packet (OutOfProcTransportManager.cs).
              expect(line).toBe(encodePacket({ kind: 'DataAck', psGuid: EMPTY_GUID }));
              acked = true;
              acks++;
            } else if (p.kind === 'Data') {
              expect(line).toBe(encodePacket(p));
              for (const m of defrag.push(p.data)) capability = decodeMessage(m);
            }
          }
        }
        expect(acks).toBe(frags.length);
        while (!capability) {
          const p = decodePacket(await next());
          if (p.kind === 'Data') for (const m of defrag.push(p.data)) capability = decodeMessage(m);
        }
        expect(capability.destination).toBe(Destination.Client);
        expect(capability.messageType).toBe(MessageType.SESSION_CAPABILITY);
        expect(Buffer.from(capability.data).toString()).toMatch(
          /<Version N="protocolversion">2\.\d+<\/Version>/,
        );

        child.stdin.write(`${encodePacket({ kind: 'Close', psGuid: EMPTY_GUID })}\n`);
        let ack: string | undefined;
        while (ack === undefined) {
          const line = await next();
          if (decodePacket(line).kind === 'CloseAck') ack = line;
        }
        expect(ack).toBe(`<CloseAck PSGuid='${EMPTY_GUID}' />`);
        expect(decodePacket(ack)).toEqual({ kind: 'CloseAck', psGuid: EMPTY_GUID });
      } finally {
        if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid);
      }
    },
    60_000,
  );
});
