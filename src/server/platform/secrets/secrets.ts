import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { loadSecretsKey, SECRETS_KEY_BYTES, secretsKeyId } from './keys.ts';

/**
 * Why a secret could not be sealed or opened. An internal failure (a 500 whose detail the error
 * handler hides): it means a key is missing or the stored value was altered, never bad input.
 * Its message never carries the plaintext, a key or the sealed value: only the key id and what
 * went wrong.
 */
export class SecretsError extends Error {
  override name = 'SecretsError';
}

const VERSION = 'gh1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** gh1.<11-character key id>.<base64url(iv | ciphertext | tag)> */
const ENVELOPE = /^gh1\.([A-Za-z0-9_-]{11})\.([A-Za-z0-9_-]+)$/;
/** A lone surrogate: UTF-8 cannot hold it, so two different strings would encode alike. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The envelope for secrets at rest: AES-256-GCM under the current key, with a random 96-bit IV
 * per value, and as associated data the envelope's version, key id and a caller-given context
 * naming where the value lives (`totp:<userId>`), so a value copied to another row or column
 * does not open. Previous keys (SECRETS_PREVIOUS_KEYS) open values, never seal them, until
 * `gatehouse secrets rotate` has re-sealed everything under the current key.
 *
 * Keys are held in private fields: logging or serializing this object shows key ids only.
 */
export class Secrets {
  /** The id of the key every new value is sealed under. */
  readonly currentKeyId: string;
  /** Every key id that opens values, the current one first. */
  readonly keyIds: readonly string[];
  readonly #current: Buffer;
  readonly #keys = new Map<string, Buffer>();

  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    for (const key of [current, ...previous]) {
      if (key.length !== SECRETS_KEY_BYTES)
        throw new SecretsError(`a secrets key is ${SECRETS_KEY_BYTES} bytes`);
      const id = secretsKeyId(key);
      const known = this.#keys.get(id);
      if (known === undefined) this.#keys.set(id, Buffer.from(key));
      else if (!known.equals(key))
        throw new SecretsError(`two different secrets keys share the key id ${id}`);
    }
    this.#current = this.#keys.get(secretsKeyId(current)) as Buffer;
    this.currentKeyId = secretsKeyId(current);
    this.keyIds = [...this.#keys.keys()];
  }

  /** Seals `plaintext` for `context`: a different text every call, even for the same value. */
  seal(plaintext: string, context: string): string {
    checkText(plaintext, 'the value to seal');
    checkContext(context);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(this.currentKeyId, context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const data = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    return `${VERSION}.${this.currentKeyId}.${data}`;
  }

  /**
   * Opens what `seal` returned for the same `context`. Throws SecretsError when the text is not
   * an envelope, its key is not held (neither SECRETS_KEY nor in SECRETS_PREVIOUS_KEYS), it is
   * cut short, or it does not authenticate (altered, or sealed for another context).
   */
  open(sealed: string, context: string): string {
    checkContext(context);
    const match = typeof sealed === 'string' ? ENVELOPE.exec(sealed) : null;
    if (!match) throw new SecretsError(`cannot open a secret: not a ${VERSION} envelope`);
    const [, keyId, data] = match as unknown as [string, string, string];
    const key = this.#keys.get(keyId);
    if (!key) {
      throw new SecretsError(
        `cannot open a secret sealed under key id ${keyId}: it is neither SECRETS_KEY (${this.currentKeyId}) ` +
          'nor one of SECRETS_PREVIOUS_KEYS',
      );
    }
    const bytes = Buffer.from(data, 'base64url');
    if (bytes.length < IV_BYTES + TAG_BYTES || bytes.toString('base64url') !== data) {
      throw new SecretsError(
        `cannot open a secret sealed under key id ${keyId}: the envelope is truncated or malformed`,
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(associatedData(keyId, context));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      // Node's own message ("unable to authenticate data") says less; no cause is kept.
      throw new SecretsError(
        `cannot open a secret sealed under key id ${keyId}: it does not authenticate ` +
          '(altered, or sealed for another context)',
      );
    }
  }

  /**
   * A keyed digest of `data` for `context` (HMAC-SHA256 under a key derived from the current
   * key): the same answer on every instance sharing SECRETS_KEY, unguessable without it. For
   * stable stand-in values that must not be told apart from real ones (no account enumeration).
   */
  mac(context: string, data: string): Buffer {
    checkContext(context);
    checkText(data, 'the value to digest');
    const key = createHmac('sha256', this.#current).update(`${VERSION}.mac.${context}`).digest();
    return createHmac('sha256', key).update(data, 'utf8').digest();
  }

  /** True unless `sealed` is an envelope under the current key (what `rotate` re-seals). */
  needsRotation(sealed: string): boolean {
    return !(typeof sealed === 'string' && sealed.startsWith(`${VERSION}.${this.currentKeyId}.`));
  }

  toJSON(): { currentKeyId: string; keyIds: readonly string[] } {
    return { currentKeyId: this.currentKeyId, keyIds: this.keyIds };
  }
}

function associatedData(keyId: string, context: string): Buffer {
  // The key id has a fixed length and no dot, so the context starts at a fixed offset.
  return Buffer.from(`${VERSION}.${keyId}.${context}`, 'utf8');
}

function checkText(value: string, what: string): void {
  if (typeof value !== 'string') throw new SecretsError(`${what} must be a string`);
  if (LONE_SURROGATE.test(value)) throw new SecretsError(`${what} is not well-formed Unicode`);
}

function checkContext(context: string): void {
  checkText(context, 'the context of a secret');
  if (context === '') throw new SecretsError('the context of a secret must name where it is stored');
}

/**
 * The instance's secrets: the current key from SECRETS_KEY, SECRETS_KEY_FILE or the data folder
 * (generated there on first start), and the previous keys that still open older values.
 */
export function loadSecrets(options: {
  key?: Buffer | undefined;
  file?: string | undefined;
  previousKeys?: readonly Buffer[];
  dataDir: string;
  generate?: boolean;
}): Secrets {
  return new Secrets(loadSecretsKey(options), options.previousKeys ?? []);
}
