import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.ts';
import { serializeError } from '../log/serialize-error.ts';
import { loadSecretsKey, parseSecretsKey, secretsKeyId } from './keys.ts';
import { loadSecrets, Secrets, SecretsError } from './secrets.ts';

const made: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-secrets-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

const key = randomBytes(32);
const secrets = new Secrets(key);
const PLAINTEXT = 'JBSWY3DPEHPK3PXP-the-totp-secret';

/** The envelope with one byte of its decoded data changed at `at` (negative: from the end). */
function alter(sealed: string, at: number): string {
  const [version, keyId, data] = sealed.split('.') as [string, string, string];
  const bytes = Buffer.from(data, 'base64url');
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] = (bytes[i] as number) ^ 0x01;
  return `${version}.${keyId}.${bytes.toString('base64url')}`;
}

function refusal(fn: () => unknown): SecretsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SecretsError);
    return err as SecretsError;
  }
  throw new Error('expected a SecretsError');
}

describe('the secrets envelope', () => {
  it('opens what it sealed, for the same context, as gh1.<keyId>.<data>', () => {
    const sealed = secrets.seal(PLAINTEXT, 'totp:user-1');
    expect(sealed).toMatch(/^gh1\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]+$/);
    expect(sealed.split('.')[1]).toBe(secrets.currentKeyId);
    expect(sealed).not.toContain(PLAINTEXT);
    expect(secrets.open(sealed, 'totp:user-1')).toBe(PLAINTEXT);
    for (const value of ['', 'é ✓ 🔑', 'x'.repeat(10_000)]) {
      expect(secrets.open(secrets.seal(value, 'c'), 'c')).toBe(value);
    }
    expect(secrets.needsRotation(sealed)).toBe(false);
  });

  it('seals one value differently every time', () => {
    const a = secrets.seal(PLAINTEXT, 'totp:user-1');
    const b = secrets.seal(PLAINTEXT, 'totp:user-1');
    expect(a).not.toBe(b);
    expect(a.split('.')[2]?.slice(0, 16)).not.toBe(b.split('.')[2]?.slice(0, 16));
  });

  it('refuses a value moved to another context (row or column)', () => {
    const sealed = secrets.seal(PLAINTEXT, 'totp:user-1');
    for (const other of ['totp:user-2', 'webhook:user-1', 'totp:user-1 ', 'totp:user-']) {
      expect(refusal(() => secrets.open(sealed, other)).message).toMatch(/does not authenticate/);
    }
  });

  it('refuses an altered IV, ciphertext or tag', () => {
    const sealed = secrets.seal(PLAINTEXT, 'ctx');
    for (const at of [0, 11, 12, 12 + 5, -17, -16, -1]) {
      expect(refusal(() => secrets.open(alter(sealed, at), 'ctx')).message).toMatch(/does not authenticate/);
    }
  });

  it('refuses a value cut short or not an envelope', () => {
    const sealed = secrets.seal(PLAINTEXT, 'ctx');
    const [version, keyId, data] = sealed.split('.') as [string, string, string];
    const bytes = Buffer.from(data, 'base64url');
    // Without the tag's last byte, without the whole tag, only the IV and tag (no plaintext: a
    // valid-looking length that does not authenticate), and less than IV + tag.
    for (const cut of [bytes.subarray(0, -1), bytes.subarray(0, -16), bytes.subarray(0, 27)]) {
      expect(() => secrets.open(`${version}.${keyId}.${cut.toString('base64url')}`, 'ctx')).toThrow(
        SecretsError,
      );
    }
    expect(
      refusal(() => secrets.open(`${version}.${keyId}.${bytes.subarray(0, 27).toString('base64url')}`, 'ctx'))
        .message,
    ).toMatch(/truncated/);
    for (const bad of [
      '',
      'gh1',
      `gh1.${keyId}`,
      `gh1.${keyId}.`,
      `gh2.${keyId}.${data}`,
      `gh1.${keyId}.${data}=`,
      `gh1.${keyId}.${data}.x`,
      sealed.slice(0, -1),
      ` ${sealed}`,
      PLAINTEXT,
    ]) {
      expect(() => secrets.open(bad, 'ctx')).toThrow(SecretsError);
    }
  });

  it('refuses a value sealed under a key it does not hold, naming the key id', () => {
    const other = new Secrets(randomBytes(32));
    const sealed = other.seal(PLAINTEXT, 'ctx');
    const err = refusal(() => secrets.open(sealed, 'ctx'));
    expect(err.message).toContain(other.currentKeyId);
    expect(err.message).toMatch(/neither SECRETS_KEY .* nor one of SECRETS_PREVIOUS_KEYS/);
    expect(secrets.needsRotation(sealed)).toBe(true);
  });

  it('opens values sealed under a previous key, seals only under the current one', () => {
    const old = new Secrets(key);
    const sealedOld = old.seal(PLAINTEXT, 'ctx');
    const rotated = new Secrets(randomBytes(32), [key]);
    expect(rotated.open(sealedOld, 'ctx')).toBe(PLAINTEXT);
    expect(rotated.needsRotation(sealedOld)).toBe(true);
    const sealedNew = rotated.seal(PLAINTEXT, 'ctx');
    expect(sealedNew.split('.')[1]).toBe(rotated.currentKeyId);
    expect(rotated.needsRotation(sealedNew)).toBe(false);
    expect(rotated.keyIds).toEqual([rotated.currentKeyId, secretsKeyId(key)]);
    // The old key alone no longer opens what the new one sealed.
    expect(() => old.open(sealedNew, 'ctx')).toThrow(SecretsError);
    // The current key listed again among the previous ones changes nothing.
    expect(new Secrets(key, [key]).keyIds).toEqual([secretsKeyId(key)]);
  });

  it('refuses an empty context and text UTF-8 cannot hold', () => {
    expect(() => secrets.seal(PLAINTEXT, '')).toThrow(/must name where it is stored/);
    expect(() => secrets.seal('\ud800', 'ctx')).toThrow(/not well-formed/);
    expect(() => secrets.seal(PLAINTEXT, 'totp:\udc00')).toThrow(/not well-formed/);
  });

  it('derives the key id from the key, 11 characters that do not reveal it', () => {
    const id = secretsKeyId(key);
    expect(id).toMatch(/^[A-Za-z0-9_-]{11}$/);
    expect(secretsKeyId(Buffer.from(key))).toBe(id);
    expect(secretsKeyId(randomBytes(32))).not.toBe(id);
    expect(key.toString('base64url')).not.toContain(id);
  });
});

describe('secrets in errors and logs', () => {
  const keyForms = [key.toString('base64'), key.toString('base64url'), key.toString('hex')];

  it('no error of seal or open carries the plaintext, a key or the sealed value', () => {
    const sealed = secrets.seal(PLAINTEXT, 'totp:user-1');
    const errors = [
      refusal(() => secrets.open(sealed, 'totp:user-2')),
      refusal(() => secrets.open(alter(sealed, -1), 'totp:user-1')),
      refusal(() => secrets.open(sealed.slice(0, 30), 'totp:user-1')),
      refusal(() => secrets.open(new Secrets(randomBytes(32)).seal(PLAINTEXT, 'c'), 'c')),
      refusal(() => secrets.open(PLAINTEXT, 'c')),
      refusal(() => secrets.seal(`${PLAINTEXT}\ud800`, 'c')),
      refusal(() => secrets.seal(PLAINTEXT, '')),
    ];
    for (const err of errors) {
      const printed = [
        JSON.stringify(serializeError(err)),
        JSON.stringify(err),
        inspect(err, { depth: 5, showHidden: true }),
        String(err.stack),
      ].join('\n');
      expect(printed).not.toContain(PLAINTEXT);
      expect(printed).not.toContain(sealed.split('.')[2]);
      for (const form of keyForms) expect(printed).not.toContain(form);
      expect(err.cause).toBeUndefined();
    }
  });

  it('the secrets object shows key ids only when logged or serialized', () => {
    const shown = [JSON.stringify(secrets), inspect(secrets, { depth: 5, showHidden: true })].join('\n');
    expect(shown).toContain(secrets.currentKeyId);
    for (const form of keyForms) expect(shown).not.toContain(form);
    expect(shown).not.toMatch(/<Buffer|"type":"Buffer"/);
  });
});

describe('SECRETS_KEY, SECRETS_KEY_FILE, SECRETS_PREVIOUS_KEYS', () => {
  const b64 = key.toString('base64');

  it('takes a base64 32-byte key, padded or not, standard or url-safe', () => {
    for (const form of [b64, b64.replace(/=$/, ''), key.toString('base64url'), ` ${b64}\n`]) {
      expect(loadConfig({ SECRETS_KEY: form }).secrets.key?.equals(key)).toBe(true);
    }
    expect(loadConfig({}).secrets).toEqual({ key: undefined, keyFile: undefined, previousKeys: [] });
  });

  it('refuses anything else at start-up with a clear message that does not repeat the value', () => {
    const wrong = [
      randomBytes(16).toString('base64'),
      randomBytes(33).toString('base64'),
      randomBytes(64).toString('hex'),
      `${b64.slice(0, 20)}!${b64.slice(21)}`,
      `${b64.slice(0, 42)}B=`, // 32 bytes, but the last character carries stray bits
      'correct horse battery staple',
    ];
    for (const value of wrong) {
      const err = (() => {
        try {
          loadConfig({ SECRETS_KEY: value });
        } catch (e) {
          return e as Error;
        }
        throw new Error(`accepted ${value}`);
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toBe(
        'SECRETS_KEY must be the base64 of exactly 32 random bytes (openssl rand -base64 32)',
      );
    }
    expect(() => loadConfig({ SECRETS_PREVIOUS_KEYS: `${b64},nope` })).toThrow(
      /SECRETS_PREVIOUS_KEYS must be a comma-separated list of keys, each the base64 of exactly 32 random bytes .*; entry 2 is not/,
    );
    expect(() => loadConfig({ SECRETS_KEY: b64, SECRETS_KEY_FILE: '/etc/key' })).toThrow(
      'set SECRETS_KEY or SECRETS_KEY_FILE, not both',
    );
  });

  it('takes previous keys, comma-separated', () => {
    const other = randomBytes(32);
    const { previousKeys } = loadConfig({
      SECRETS_PREVIOUS_KEYS: ` ${b64}, ${other.toString('base64')} ,`,
    }).secrets;
    expect(previousKeys.map((k) => k.toString('hex'))).toEqual([key.toString('hex'), other.toString('hex')]);
  });

  it('generates a key into the data folder on first start (mode 0600) and reads the same key after', () => {
    const dir = tempDir();
    const first = loadSecrets({ dataDir: dir });
    const file = path.join(dir, 'secrets-key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['secrets-key']);
    const stored = parseSecretsKey(fs.readFileSync(file, 'utf8'));
    expect(secretsKeyId(stored)).toBe(first.currentKeyId);
    const sealed = first.seal(PLAINTEXT, 'ctx');
    const second = loadSecrets({ dataDir: dir });
    expect(second.currentKeyId).toBe(first.currentKeyId);
    expect(second.open(sealed, 'ctx')).toBe(PLAINTEXT);
  });

  it('reads SECRETS_KEY_FILE, refusing a missing or malformed file without printing it', () => {
    const dir = tempDir();
    const file = path.join(dir, 'key');
    fs.writeFileSync(file, `${key.toString('base64')}\n`);
    expect(loadSecretsKey({ file, dataDir: dir }).equals(key)).toBe(true);
    expect(() => loadSecretsKey({ file: path.join(dir, 'missing'), dataDir: dir })).toThrow(
      `SECRETS_KEY_FILE ${path.join(dir, 'missing')} does not exist`,
    );
    fs.writeFileSync(file, key.toString('hex'));
    expect(() => loadSecretsKey({ file, dataDir: dir })).toThrow(/does not hold the base64 of exactly 32/);
    // Asked not to generate (a rotation), it refuses instead of inventing a key.
    expect(() => loadSecretsKey({ dataDir: dir, generate: false })).toThrow(
      `no secrets key: SECRETS_KEY and SECRETS_KEY_FILE are unset and ${path.join(dir, 'secrets-key')} does not exist`,
    );
    // The configured key wins over the data folder's and nothing is generated.
    expect(loadSecretsKey({ key, dataDir: dir }).equals(key)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'secrets-key'))).toBe(false);
  });
});
