import { hash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The length of every secrets key: AES-256. */
export const SECRETS_KEY_BYTES = 32;

/** How a key is written (SECRETS_KEY, SECRETS_PREVIOUS_KEYS, the key file): `openssl rand -base64 32`. */
export const SECRETS_KEY_HINT = `the base64 of exactly ${SECRETS_KEY_BYTES} random bytes (openssl rand -base64 32)`;

/**
 * Decodes a key written in base64 (standard or url-safe, padding optional). Strict: anything that
 * does not decode to exactly 32 bytes, or carries characters base64 does not have, is refused
 * (Buffer.from alone would skip them and silently make a different key). The message never
 * repeats the value.
 */
export function parseSecretsKey(text: string): Buffer {
  const value = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) throw new Error(`not ${SECRETS_KEY_HINT}`);
  const unpadded = value.replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');
  const key = Buffer.from(unpadded, 'base64url');
  // The round trip refuses non-canonical text (stray bits in the last character).
  if (key.length !== SECRETS_KEY_BYTES || key.toString('base64url') !== unpadded) {
    throw new Error(`not ${SECRETS_KEY_HINT}`);
  }
  return key;
}

/**
 * A key's public name, stored in every envelope sealed under it: the first 8 bytes of
 * SHA-256 over a domain-separated label and the key, base64url (11 characters). Anyone holding
 * the key can recompute it; it tells nothing of the key.
 */
export function secretsKeyId(key: Buffer): string {
  return hash('sha256', Buffer.concat([Buffer.from('gatehouse secrets key id v1\n'), key]), 'buffer')
    .subarray(0, 8)
    .toString('base64url');
}

/** No key is configured and the data folder holds none. */
export class MissingSecretsKeyError extends Error {
  constructor(file: string) {
    super(`no secrets key: SECRETS_KEY and SECRETS_KEY_FILE are unset and ${file} does not exist`);
  }
}

function readKeyFile(file: string, name: string): Buffer {
  try {
    return parseSecretsKey(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${name} ${file} does not exist`);
    if ((err as NodeJS.ErrnoException).code) throw err;
    throw new Error(`${name} ${file} does not hold ${SECRETS_KEY_HINT}`);
  }
}

/**
 * The instance's current secrets key: SECRETS_KEY when given, else the file SECRETS_KEY_FILE
 * names, else `<dataDir>/secrets-key`, generated (mode 0600) on first start and read after.
 */
export function loadSecretsKey(options: {
  key?: Buffer | undefined;
  file?: string | undefined;
  dataDir: string;
  /** False: refuse instead of generating a key (a rotation must never invent the key it seals under). */
  generate?: boolean;
}): Buffer {
  if (options.key) return options.key;
  if (options.file) return readKeyFile(options.file, 'SECRETS_KEY_FILE');
  const file = path.join(options.dataDir, 'secrets-key');
  if (fs.existsSync(file)) return readKeyFile(file, 'the secrets key file');
  if (options.generate === false) throw new MissingSecretsKeyError(file);
  const key = randomBytes(SECRETS_KEY_BYTES);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Written whole under another name, then linked into place: link never replaces a file, so a
  // key another process created meanwhile (values may already be sealed under it) is kept and
  // read instead, and no process ever reads a half-written key.
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temporary, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(temporary, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readKeyFile(file, 'the secrets key file');
    throw err;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
  return key;
}
