import { readFile } from 'node:fs/promises';
import type { TransportContext } from '@psremote/core';
import type { AnyAuthMethod, AuthenticationType, AuthHandlerMiddleware, ParsedKey, Prompt } from 'ssh2';
// ssh2 is CommonJS: Node's ESM loader gives only its default export, so take members from it.
import ssh2 from 'ssh2';

const { utils, BaseAgent } = ssh2;

import type { Deadline } from './deadline.ts';
import type { SshTarget } from './ssh-target.ts';

/** What the authentication did, for the error message when it fails. */
export interface AuthReport {
  /** The methods the server last said may continue (`publickey,password`). */
  serverMethods: string[];
  /** One line per thing tried or skipped, in order. */
  readonly notes: string[];
}

export interface AuthOptions {
  readonly agentSocket: string | undefined;
  /** A changed host key accepted under StrictHostKeyChecking=no: never send a password. */
  readonly disablePasswords: () => boolean;
  readonly deadline: Deadline;
}

type Attempt = () => Promise<AnyAuthMethod | null>;

function isEncryptedKeyError(e: Error): boolean {
  return /passphrase|encrypted/i.test(e.message);
}

/** A failure of an encrypted key file at signing time (its passphrase was not given); already in the report. */
export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
}

/**
 * The public half of an OpenSSH-format private key (openssh-key-v1 keeps it unencrypted), as an
 * authorized_keys line; undefined for other formats or a damaged file.
 */
export function openSshPublicKey(data: Buffer): string | undefined {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(
    data.toString('latin1'),
  );
  if (!m) return undefined;
  const raw = Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (raw.subarray(0, magic.length).toString('latin1') !== magic) return undefined;
  let off = magic.length;
  const next = (): Buffer | undefined => {
    if (off + 4 > raw.length) return undefined;
    const n = raw.readUInt32BE(off);
    if (off + 4 + n > raw.length) return undefined;
    const b = raw.subarray(off + 4, off + 4 + n);
    off += 4 + n;
    return b;
  };
  // ciphername, kdfname, kdfoptions, then the number of keys and the first public key blob.
  if (!next() || !next() || !next() || off + 4 > raw.length || raw.readUInt32BE(off) < 1) return undefined;
  off += 4;
  const blob = next();
  if (!blob || blob.length < 4) return undefined;
  const typeLength = blob.readUInt32BE(0);
  if (4 + typeLength > blob.length) return undefined;
  return `${blob.subarray(4, 4 + typeLength).toString('latin1')} ${blob.toString('base64')}`;
}

/**
 * An encrypted identity file offered by its public key, as ssh(1) does: the passphrase is asked only once the
 * server said it would accept that key (USERAUTH_PK_OK), then the key is decrypted and signs. ssh2 calls this
 * through its agent interface (one identity; sign on demand).
 */
class EncryptedKeyAgent extends BaseAgent {
  private readonly publicKey: ParsedKey;
  private readonly unlock: () => Promise<ParsedKey | undefined>;
  private unlocked: Promise<ParsedKey | undefined> | undefined;
  private readonly onMismatch: () => void;

  constructor(publicKey: ParsedKey, unlock: () => Promise<ParsedKey | undefined>, onMismatch: () => void) {
    super();
    this.publicKey = publicKey;
    this.unlock = unlock;
    this.onMismatch = onMismatch;
  }

  override getIdentities(cb: (err: Error | undefined, keys?: ParsedKey[]) => void): void {
    cb(undefined, [this.publicKey]);
  }

  override sign(
    _pubKey: ParsedKey,
    data: Buffer,
    options: { hash?: string } | ((err: Error | undefined, signature?: Buffer) => void),
    cb?: (err: Error | undefined, signature?: Buffer) => void,
  ): void {
    const done = typeof options === 'function' ? options : cb;
    const hash = typeof options === 'function' ? undefined : options.hash;
    // Asked once: ssh2 signs again when it retries the key with another RSA hash.
    this.unlocked ??= this.unlock();
    this.unlocked.then(
      (key) => {
        if (!key) return done?.(new KeyFileError('no valid passphrase was given'));
        if (!Buffer.from(key.getPublicSSH()).equals(Buffer.from(this.publicKey.getPublicSSH()))) {
          this.onMismatch();
          return done?.(new KeyFileError('the private key does not match the public key offered for it'));
        }
        const signature = key.sign(data, hash);
        if (signature instanceof Error) return done?.(signature);
        done?.(undefined, signature);
      },
      (e: Error) => done?.(new KeyFileError(e.message)),
    );
  }
}

/**
 * The order OpenSSH tries things in (PreferredAuthentications: publickey, keyboard-interactive, password):
 * the agent's keys, then each identity file (an encrypted one asks for its passphrase through the HostUi),
 * then keyboard-interactive and password prompts through the HostUi. Nothing is asked when the HostUi is not
 * interactive or BatchMode=yes: those methods are skipped and the failure says so.
 */
export function createAuthHandler(
  target: SshTarget,
  ctx: TransportContext,
  options: AuthOptions,
): {
  readonly handler: AuthHandlerMiddleware;
  readonly report: AuthReport;
} {
  const report: AuthReport = { serverMethods: [], notes: [] };
  const user = target.user;
  const canAsk = ctx.hostUi.interactive && !target.batchMode;
  const ui = ctx.hostUi;
  const ask = async (promptText: string, secret: boolean): Promise<string> =>
    options.deadline.paused(async () => {
      ui.write(promptText);
      return secret ? ui.readLineAsSecureString(ctx.signal) : ui.readLine(ctx.signal);
    });

  const queue: { method: AuthenticationType; attempt: Attempt }[] = [];

  if (target.pubkeyAuthentication) {
    // ssh_config IdentityAgent: a socket path, `none`, or `SSH_AUTH_SOCK` / `$VAR` naming an environment variable.
    const named = target.identityAgent;
    const agent =
      named === undefined
        ? options.agentSocket
        : named.toLowerCase() === 'none'
          ? undefined
          : named.startsWith('$') || named === 'SSH_AUTH_SOCK'
            ? ctx.env[named.replace(/^\$\{?|\}$/g, '')]
            : named;
    if (agent && !target.identitiesOnly) {
      queue.push({
        method: 'publickey',
        attempt: async () => {
          report.notes.push(`tried the keys of the ssh-agent at ${agent}`);
          return { type: 'agent', username: user, agent };
        },
      });
    }
    for (const file of target.identityFiles) {
      queue.push({
        method: 'publickey',
        attempt: async () => {
          let data: Buffer;
          try {
            data = await readFile(file.path);
          } catch (e) {
            if (file.explicit)
              report.notes.push(
                `could not read the key file ${file.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
              );
            return null;
          }
          let key = utils.parseKey(data);
          if (key instanceof Error && isEncryptedKeyError(key)) {
            if (!canAsk) {
              report.notes.push(
                `skipped the encrypted key ${file.path}: its passphrase cannot be asked (non-interactive)`,
              );
              return null;
            }
            // ssh(1) asks up to three times for a passphrase.
            const encrypted = data;
            const unlock = async (): Promise<ParsedKey | undefined> => {
              let k: ReturnType<typeof utils.parseKey> = new Error('no passphrase');
              for (let i = 0; i < 3 && k instanceof Error; i++) {
                const passphrase = await ask(`Enter passphrase for key '${file.path}': `, true);
                if (passphrase === '') break;
                k = utils.parseKey(encrypted, passphrase);
                if (k instanceof Error) ui.writeWarningLine(`Bad passphrase for ${file.path}, try again.`);
              }
              if (k instanceof Error) {
                report.notes.push(`no valid passphrase was given for ${file.path}`);
                return undefined;
              }
              return Array.isArray(k) ? (k[0] as ParsedKey) : k;
            };
            // Offer the public half first (from the key file itself, or the .pub beside it), as ssh(1) does.
            const publicLine =
              openSshPublicKey(data) ?? (await readFile(`${file.path}.pub`, 'utf8').catch(() => ''));
            const pub = publicLine ? utils.parseKey(publicLine) : undefined;
            if (pub && !(pub instanceof Error)) {
              const parsedPub = Array.isArray(pub) ? (pub[0] as ParsedKey) : pub;
              report.notes.push(`offered the encrypted ${parsedPub.type} key ${file.path}`);
              const mismatch = () =>
                report.notes.push(
                  `the private key ${file.path} does not match its public key (a stale .pub?)`,
                );
              return {
                type: 'agent',
                username: user,
                agent: new EncryptedKeyAgent(parsedPub, unlock, mismatch),
              };
            }
            const unlocked = await unlock();
            if (!unlocked) return null;
            key = unlocked;
          }
          if (key instanceof Error) {
            report.notes.push(`the key file ${file.path} is not a private key ssh2 can use: ${key.message}`);
            return null;
          }
          const parsed: ParsedKey = Array.isArray(key) ? (key[0] as ParsedKey) : key;
          if (!parsed.isPrivateKey()) {
            report.notes.push(`${file.path} holds a public key, not a private key`);
            return null;
          }
          report.notes.push(`offered the ${parsed.type} key ${file.path}`);
          return { type: 'publickey', username: user, key: parsed };
        },
      });
    }
  }

  const passwordsAllowed = () => canAsk && !options.disablePasswords();
  if (target.kbdInteractiveAuthentication) {
    queue.push({
      method: 'keyboard-interactive',
      attempt: async () => {
        if (!passwordsAllowed()) return null;
        report.notes.push('answered keyboard-interactive prompts');
        return {
          type: 'keyboard-interactive',
          username: user,
          prompt: (
            name: string,
            instructions: string,
            _lang: string,
            prompts: Prompt[],
            finish: (answers: string[]) => void,
          ) => {
            void (async () => {
              if (name) ui.writeLine(name);
              if (instructions) ui.writeLine(instructions);
              const answers: string[] = [];
              for (const p of prompts) answers.push(await ask(p.prompt, !p.echo).catch(() => ''));
              finish(answers);
            })();
          },
        };
      },
    });
  }
  if (target.passwordAuthentication) {
    for (let i = 0; i < target.numberOfPasswordPrompts; i++) {
      queue.push({
        method: 'password',
        attempt: async () => {
          if (!passwordsAllowed()) return null;
          const password = await ask(`${user}@${target.hostName}'s password: `, true);
          report.notes.push('tried a password');
          return { type: 'password', username: user, password };
        },
      });
    }
  }

  let first = true;
  let skippedPrompts = false;
  const handler: AuthHandlerMiddleware = (authsLeft, _partial, next) => {
    if (first) {
      first = false;
      // RFC 4252 5.2: "none" lists the methods that can continue.
      next({ type: 'none', username: user });
      return;
    }
    if (authsLeft) report.serverMethods = [...authsLeft];
    void (async () => {
      while (queue.length > 0) {
        const item = queue.shift() as (typeof queue)[number];
        if (authsLeft && !authsLeft.includes(item.method)) continue;
        if ((item.method === 'password' || item.method === 'keyboard-interactive') && !passwordsAllowed()) {
          skippedPrompts = true;
          continue;
        }
        let method: AnyAuthMethod | null;
        try {
          method = await item.attempt();
        } catch (e) {
          report.notes.push(`stopped: ${(e as Error).message}`);
          queue.length = 0;
          break;
        }
        if (method) {
          next(method);
          return;
        }
      }
      if (skippedPrompts) {
        report.notes.push(
          options.disablePasswords()
            ? 'did not send a password: the host key changed'
            : 'did not ask for a password: the host is not interactive (or BatchMode=yes)',
        );
      }
      // ssh2 ends the connection with level client-authentication.
      next(false as unknown as AnyAuthMethod);
    })();
  };
  return { handler, report };
}
