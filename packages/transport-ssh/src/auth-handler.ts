import { readFile } from 'node:fs/promises';
import type { TransportContext } from '@psremote/core';
import type { AnyAuthMethod, AuthenticationType, AuthHandlerMiddleware, ParsedKey, Prompt } from 'ssh2';
// ssh2 is CommonJS: Node's ESM loader gives only its default export, so take members from it.
import ssh2 from 'ssh2';

const { utils } = ssh2;

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
            for (let i = 0; i < 3 && key instanceof Error; i++) {
              const passphrase = await ask(`Enter passphrase for key '${file.path}': `, true);
              if (passphrase === '') break;
              key = utils.parseKey(data, passphrase);
              if (key instanceof Error) ui.writeWarningLine(`Bad passphrase for ${file.path}, try again.`);
            }
            if (key instanceof Error) {
              report.notes.push(`no valid passphrase was given for ${file.path}`);
              return null;
            }
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
