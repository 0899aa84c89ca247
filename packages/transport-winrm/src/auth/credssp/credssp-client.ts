import { createHash, randomBytes } from 'node:crypto';
import { authError } from '../auth-error.ts';
import { bytesEqual, concatBytes } from '../bytes.ts';
import { SpnegoNtlm } from '../spnego.ts';
import { DEFAULT_ENCRYPTION_ORACLE, lowestServerVersion } from './encryption-oracle.ts';
import { TlsPipe } from './tls-pipe.ts';
import {
  CREDSSP_VERSION,
  decodeTsRequest,
  derElementLength,
  encodeTsCredentials,
  encodeTsRequest,
  splitUserName,
  type TsRequest,
} from './ts-request.ts';

const CLIENT_TO_SERVER = 'CredSSP Client-To-Server Binding Hash\0';
const SERVER_TO_CLIENT = 'CredSSP Server-To-Client Binding Hash\0';
/** NTLM's GSS_WrapEx token: a 16-byte signature before the sealed bytes (MS-NLMP 3.4.6). */
const NTLM_SIGNATURE = 16;

/** Why the server refused us, as CredSSP's errorCode (an NTSTATUS, version 3+) or SPNEGO said it. */
export class CredsspRejected extends Error {
  readonly ntstatus: number | undefined;
  constructor(message: string, ntstatus?: number) {
    super(message);
    this.name = 'CredsspRejected';
    this.ntstatus = ntstatus;
  }
}

/**
 * The server's CredSSP version is below the lowest accepted (CredSSP encryption oracle remediation). Thrown on the
 * server's first TSRequest, before anything of ours is sealed: the caller words it for the user.
 */
export class CredsspVersionRefused extends Error {
  readonly serverVersion: number;
  readonly lowest: number;
  constructor(serverVersion: number, lowest: number) {
    super(
      `CredSSP: the server speaks version ${serverVersion}, below the lowest accepted (${lowest}): the old public-key binding is refused (CredSSP encryption oracle remediation)`,
    );
    this.name = 'CredsspVersionRefused';
    this.serverVersion = serverVersion;
    this.lowest = lowest;
  }
}

/** The NTSTATUS values a CredSSP server reports for a refused logon, by name (MS-ERREF 2.3.1). */
const NTSTATUS: Record<number, string> = {
  3221225581: 'STATUS_LOGON_FAILURE',
  3221225582: 'STATUS_ACCOUNT_RESTRICTION',
  3221225586: 'STATUS_ACCOUNT_DISABLED',
  3221225585: 'STATUS_PASSWORD_EXPIRED',
  3221226036: 'STATUS_ACCOUNT_LOCKED_OUT',
  3221225506: 'STATUS_ACCESS_DENIED',
};

export function ntstatusText(code: number): string {
  const hexCode = `0x${code.toString(16).toUpperCase().padStart(8, '0')}`;
  const name = NTSTATUS[code];
  return name ? `${hexCode} (${name})` : hexCode;
}

/**
 * The authentication inside CredSSP's TSRequest negoTokens (SPNEGO, MS-CSSP 3.1.5 step 2): our NTLM, or Kerberos
 * through the system GSSAPI. `seal`/`unseal` protect pubKeyAuth and authInfo once keys exist.
 */
export interface CredsspInner {
  /** Which mechanism, for messages and tests. */
  readonly mechanism: 'NTLM' | 'Kerberos';
  initial(): Promise<Uint8Array>;
  /** The next token for a server token (empty or undefined: nothing to send). */
  step(token: Uint8Array): Promise<Uint8Array | undefined>;
  /** Keys exist: pubKeyAuth can be sealed (NTLM: after AUTHENTICATE; Kerberos: when complete). */
  readonly canSeal: boolean;
  /** The server's last token was verified (SPNEGO accept-completed, its mechListMIC, Kerberos' AP-REP). */
  readonly established: boolean;
  seal(data: Uint8Array): Uint8Array;
  unseal(token: Uint8Array): Uint8Array;
  dispose?(): void;
}

/** SPNEGO around our TypeScript NTLM. */
export function ntlmInner(username: string, password: string, targetName?: string): CredsspInner {
  const ntlm = new SpnegoNtlm(
    { username, password },
    { mode: 'spnego', ...(targetName ? { targetName } : {}) },
  );
  return {
    mechanism: 'NTLM',
    initial: async () => ntlm.initialToken(),
    step: async (token) => ntlm.step(token),
    get canSeal() {
      return ntlm.complete;
    },
    get established() {
      return ntlm.established;
    },
    seal(data) {
      const { header, data: sealed } = ntlm.wrap(data);
      return concatBytes(header, sealed);
    },
    unseal(token) {
      if (token.length < NTLM_SIGNATURE)
        throw authError('WinRMAuthTokenInvalid', 'CredSSP: a sealed field shorter than its signature');
      return ntlm.unwrap(token.subarray(0, NTLM_SIGNATURE), token.subarray(NTLM_SIGNATURE));
    },
    dispose: () => ntlm.dispose(),
  };
}

export interface CredsspClientOptions {
  /** `DOMAIN\user`, `user@domain` or `user`: the NTLM logon and the delegated credential. */
  readonly username: string;
  readonly password: string;
  /** MsvAvTargetName of the inner NTLM; default none. WinRM uses `HTTP/<host>`. */
  readonly targetName?: string;
  /** The highest TSRequest version to offer (2..6); default 6. */
  readonly maxVersion?: number;
  /**
   * The lowest server version accepted (2..6); default 5. Below 5 the binding is the old key-plus-one form that
   * CVE-2018-0886 abused, and an active attacker can claim such a version: 5 refuses the fallback, as Windows'
   * "encryption oracle remediation" (Mitigated and above) does; 2 is its Vulnerable level. Checked before anything
   * is sealed.
   */
  readonly minVersion?: number;
  /** SNI for the inner TLS (a DNS name; never an IP address). */
  readonly servername?: string;
  /**
   * The inner authentication, made when the TLS handshake is done (it may acquire a Kerberos credential); default
   * our NTLM with `username`, `password` and `targetName`.
   */
  readonly inner?: () => Promise<CredsspInner>;
}

type Stage = 'initial' | 'tls' | 'negotiating' | 'pubkey-sent' | 'credentials-sent' | 'failed';

/**
 * A CredSSP client (MS-CSSP 3.1.5): TLS, then SPNEGO (NTLM or Kerberos, `CredsspInner`) inside TSRequest messages, the server's public
 * key bound to that authentication (the nonce-and-hash form from version 5, the key-plus-one form before), and
 * the password delegated in TSCredentials. `step` takes the server's bytes (TLS records) and gives the next ones
 * to send; after the credentials went out, `tls` is the channel for WinRM's message encryption.
 */
export class CredsspClient {
  readonly tls: TlsPipe;
  #inner: CredsspInner | undefined;
  readonly #options: CredsspClientOptions;
  readonly #maxVersion: number;
  #stage: Stage = 'initial';
  #version = 0;
  #nonce: Uint8Array | undefined;
  #publicKey: Uint8Array | undefined;

  constructor(options: CredsspClientOptions) {
    this.#options = options;
    this.#maxVersion = options.maxVersion ?? CREDSSP_VERSION;
    if (this.#maxVersion < 2 || this.#maxVersion > CREDSSP_VERSION)
      throw new RangeError(`CredSSP version ${this.#maxVersion} is not 2..${CREDSSP_VERSION}`);
    // Offering less than the lowest accepted would refuse every server, and blame the server's version for it.
    const min = options.minVersion ?? lowestServerVersion(DEFAULT_ENCRYPTION_ORACLE);
    if (this.#maxVersion < min)
      throw new RangeError(`CredSSP version ${this.#maxVersion} is below the lowest accepted (${min})`);
    this.tls = new TlsPipe(options.servername);
  }

  /** The inner mechanism, once chosen (after the TLS handshake). */
  get mechanism(): 'NTLM' | 'Kerberos' | undefined {
    return this.#inner?.mechanism;
  }

  /** The negotiated TSRequest version (the lower of ours and the server's), once the server answered. */
  get version(): number {
    return this.#version;
  }

  /** The credentials went out: what remains is the server's answer to that leg (HTTP 200). */
  get delegated(): boolean {
    return this.#stage === 'credentials-sent';
  }

  /** The next bytes for the server: undefined input starts the exchange. */
  async step(input?: Uint8Array): Promise<Uint8Array> {
    try {
      return await this.#step(input);
    } catch (e) {
      this.#stage = 'failed';
      this.dispose();
      throw e;
    }
  }

  dispose(): void {
    this.tls.destroy();
    this.#inner?.dispose?.();
  }

  get #ctx(): CredsspInner {
    if (!this.#inner) throw authError('WinRMAuthState', 'CredSSP: no inner context yet');
    return this.#inner;
  }

  async #step(input: Uint8Array | undefined): Promise<Uint8Array> {
    switch (this.#stage) {
      case 'initial':
        this.#stage = 'tls';
        return this.tls.start();
      case 'tls': {
        const out = await this.tls.handshake(need(input));
        if (!this.tls.secure) return out;
        this.#publicKey = this.tls.serverPublicKey();
        const o = this.#options;
        this.#inner = await (o.inner ?? (async () => ntlmInner(o.username, o.password, o.targetName)))();
        // MS-CSSP 3.1.5: the first TSRequest carries the first SPNEGO token.
        const first = await this.#send({
          version: this.#maxVersion,
          negoTokens: [await this.#ctx.initial()],
        });
        this.#stage = 'negotiating';
        return concatBytes(out, first);
      }
      case 'negotiating': {
        const msg = await this.#receive(need(input));
        if (this.#version === 0) {
          this.#version = Math.min(this.#maxVersion, msg.version);
          if (this.#version < 2)
            throw authError('WinRMAuthUnsupported', `CredSSP: server version ${msg.version}`);
          const min = this.#options.minVersion ?? lowestServerVersion(DEFAULT_ENCRYPTION_ORACLE);
          if (this.#version < min) throw new CredsspVersionRefused(msg.version, min);
        }
        const token = msg.negoTokens?.[0];
        if (!token) throw authError('WinRMAuthTokenInvalid', 'CredSSP: no SPNEGO token from the server');
        const next = await this.#ctx.step(token);
        const negoTokens = next && next.length > 0 ? [next] : undefined;
        if (!this.#ctx.canSeal) {
          if (!negoTokens)
            throw authError('WinRMAuthTokenInvalid', 'CredSSP: SPNEGO stopped before it completed');
          return this.#send({ version: this.#maxVersion, negoTokens });
        }
        // The binding goes with the first message that can seal it (MS-CSSP 3.1.5 step 3); the nonce form from 5.
        if (this.#version >= 5) this.#nonce = new Uint8Array(randomBytes(32));
        const pubKeyAuth = this.#ctx.seal(this.#clientBinding());
        this.#stage = 'pubkey-sent';
        return this.#send({
          version: this.#maxVersion,
          ...(negoTokens ? { negoTokens } : {}),
          pubKeyAuth,
          ...(this.#nonce ? { clientNonce: this.#nonce } : {}),
        });
      }
      case 'pubkey-sent': {
        const msg = await this.#receive(need(input));
        // SPNEGO's last token (accept-completed and its mechListMIC) comes with the server's binding.
        const last = msg.negoTokens?.[0];
        if (last && last.length > 0) await this.#ctx.step(last);
        if (!this.#ctx.established)
          throw authError('WinRMAuthTokenInvalid', 'CredSSP: SPNEGO did not complete with the server');
        if (!msg.pubKeyAuth)
          throw authError('WinRMAuthTokenInvalid', 'CredSSP: no pubKeyAuth from the server');
        const got = this.#ctx.unseal(msg.pubKeyAuth);
        if (!bytesEqual(got, this.#serverBinding()))
          throw authError(
            'WinRMMessageIntegrity',
            "CredSSP: the server's public-key binding (pubKeyAuth) does not match the TLS certificate it presented: the connection may have been intercepted",
          );
        // The channel the password goes into must still be the one whose key the server just proved.
        if (!bytesEqual(this.tls.serverPublicKey(), this.#publicKey as Uint8Array))
          throw authError(
            'WinRMMessageIntegrity',
            'CredSSP: the TLS certificate changed after the public-key binding; the credentials were not sent',
          );
        const { domain, userName } = splitUserName(this.#options.username);
        const credentials = encodeTsCredentials({ domain, userName, password: this.#options.password });
        let authInfo: Uint8Array;
        try {
          authInfo = this.#ctx.seal(credentials);
        } finally {
          // The cleartext TSCredentials (the password in UTF-16LE) does not outlive the sealing.
          credentials.fill(0);
        }
        this.#stage = 'credentials-sent';
        return this.#send({ version: this.#maxVersion, authInfo });
      }
      case 'credentials-sent': {
        // A 401 with a token after the credentials: the server refused them (errorCode, version 3+, says why).
        await this.#receive(need(input));
        throw new CredsspRejected('the server refused the delegated credentials');
      }
      default:
        throw authError('WinRMAuthState', `CredSSP: step() in stage ${this.#stage}`);
    }
  }

  /** A TSRequest from the server: errorCode (version 3+) is a refusal. */
  async #receive(records: Uint8Array): Promise<TsRequest> {
    const der = await this.tls.unwrap(records, (b) => derElementLength(b));
    const msg = decodeTsRequest(der);
    if (msg.errorCode !== undefined && msg.errorCode !== 0)
      throw new CredsspRejected(
        `the server refused the logon: NTSTATUS ${ntstatusText(msg.errorCode)}`,
        msg.errorCode,
      );
    return msg;
  }

  #send(msg: TsRequest): Promise<Uint8Array> {
    return this.tls.wrap(encodeTsRequest(msg));
  }

  #clientBinding(): Uint8Array {
    const key = this.#publicKey as Uint8Array;
    if (!this.#nonce) return key;
    return bindingHash(CLIENT_TO_SERVER, this.#nonce, key);
  }

  #serverBinding(): Uint8Array {
    const key = this.#publicKey as Uint8Array;
    if (this.#nonce) return bindingHash(SERVER_TO_CLIENT, this.#nonce, key);
    // Versions 2-4: the key with its first byte plus one (MS-CSSP 3.1.5 step 4).
    const plusOne = new Uint8Array(key);
    plusOne[0] = (plusOne[0]! + 1) & 0xff;
    return plusOne;
  }
}

/** SHA-256(magic ‖ nonce ‖ SubjectPublicKey), MS-CSSP 3.1.5 (version 5+). */
export function bindingHash(magic: string, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(magic, 'latin1').update(nonce).update(key).digest());
}

export const CLIENT_TO_SERVER_MAGIC = CLIENT_TO_SERVER;
export const SERVER_TO_CLIENT_MAGIC = SERVER_TO_CLIENT;

function need(input: Uint8Array | undefined): Uint8Array {
  if (!input || input.length === 0)
    throw authError('WinRMAuthTokenInvalid', 'CredSSP: the server sent no token');
  return input;
}
