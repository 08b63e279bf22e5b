import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  hash as digest,
  generateKeyPairSync,
  type KeyObject,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalize } from './canonical.ts';
import { type ChainKind, chainKey } from './entry.ts';

/** A signed statement that, at `signedAt`, entry `seq` of a chain had hash `hash`. */
export interface Checkpoint {
  orgId?: string;
  userId?: string;
  seq: number;
  hash: string;
  signedAt: string;
  keyId: string;
  /** Ed25519 over the canonical JSON of {orgId|userId, seq, hash, signedAt}, base64url. */
  signature: string;
}

export interface PublicKeyInfo {
  keyId: string;
  algorithm: 'Ed25519';
  /** The raw 32-byte public key, base64url (the JWK `x`). */
  publicKey: string;
  /** The same key as SPKI PEM. */
  publicKeyPem: string;
}

export interface SigningKey extends PublicKeyInfo {
  privateKey: KeyObject;
  /**
   * A secret derived from the private key that authenticates each entry as written by this
   * installation (HMAC-SHA256 over the entry's hash, kept beside it in the database, not exported).
   * Whoever can write to the database but does not hold the key cannot make an entry that passes,
   * so nothing forged there gets a checkpoint signature.
   */
  macKey: Buffer;
}

/** The bytes a checkpoint signature covers. */
export function checkpointPayload(
  kind: ChainKind,
  chainId: string,
  cp: Omit<Checkpoint, 'keyId' | 'signature'>,
): Buffer {
  return Buffer.from(
    canonicalize({ [chainKey(kind)]: chainId, seq: cp.seq, hash: cp.hash, signedAt: cp.signedAt }),
    'utf8',
  );
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url): a key id anyone can recompute from the key. */
export function keyIdOf(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' }) as { crv: string; kty: string; x: string };
  return digest('sha256', canonicalize({ crv: jwk.crv, kty: jwk.kty, x: jwk.x }), 'base64url');
}

export function describePublicKey(publicKey: KeyObject): PublicKeyInfo {
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error('the audit signing key must be Ed25519');
  const jwk = publicKey.export({ format: 'jwk' }) as { x: string };
  return {
    keyId: keyIdOf(publicKey),
    algorithm: 'Ed25519',
    publicKey: jwk.x,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

export function signingKeyFrom(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error('the audit signing key must be an Ed25519 private key');
  }
  const d = (privateKey.export({ format: 'jwk' }) as { d: string }).d;
  const macKey = createHash('sha256')
    .update('gatehouse audit entry mac v1\n')
    .update(Buffer.from(d, 'base64url'))
    .digest();
  return { ...describePublicKey(createPublicKey(privateKey)), privateKey, macKey };
}

/** The entry's authenticator: HMAC-SHA256(macKey, hash), base64url. */
export function entryMac(key: SigningKey, hash: string): string {
  return createHmac('sha256', key.macKey).update(hash).digest('base64url');
}

export function entryMacValid(key: SigningKey, hash: string, mac: string): boolean {
  const expected = Buffer.from(entryMac(key, hash));
  const given = Buffer.from(mac);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Parses an Ed25519 private key given as PKCS#8 PEM, or as a file holding one. */
export function parsePrivateKey(pem: string): KeyObject {
  return createPrivateKey({ key: pem, format: 'pem' });
}

/**
 * Parses a public key the way a verifier may hold it: SPKI PEM, a JWK (JSON), or the raw 32
 * bytes in base64url / base64 (what GET /api/v1/audit-keys calls `publicKey`).
 */
export function parsePublicKey(text: string): KeyObject {
  const value = text.trim();
  if (value.startsWith('-----BEGIN')) return createPublicKey({ key: value, format: 'pem' });
  if (value.startsWith('{')) {
    // A JWK, or one key as GET /api/v1/audit-keys lists it.
    const json = JSON.parse(value) as Record<string, unknown>;
    if (typeof json.publicKeyPem === 'string')
      return createPublicKey({ key: json.publicKeyPem, format: 'pem' });
    const x = typeof json.x === 'string' ? json.x : json.publicKey;
    if (typeof x !== 'string') throw new Error('expected a JWK with "x" or a key with "publicKey"');
    return parsePublicKey(x);
  }
  const raw = Buffer.from(value.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''), 'base64url');
  if (raw.length !== 32) throw new Error('an Ed25519 public key is 32 bytes');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}

export function signCheckpoint(
  key: SigningKey,
  kind: ChainKind,
  chainId: string,
  cp: { seq: number; hash: string; signedAt: string },
): Checkpoint {
  const signature = sign(null, checkpointPayload(kind, chainId, cp), key.privateKey).toString('base64url');
  return { [chainKey(kind)]: chainId, ...cp, keyId: key.keyId, signature };
}

export function checkpointSignatureValid(
  publicKey: KeyObject,
  kind: ChainKind,
  chainId: string,
  cp: Checkpoint,
): boolean {
  if (typeof cp.signature !== 'string') return false;
  const signature = Buffer.from(cp.signature, 'base64url');
  if (signature.length !== 64) return false;
  try {
    return verify(null, checkpointPayload(kind, chainId, cp), publicKey, signature);
  } catch {
    return false;
  }
}

/**
 * The instance's signing key: from configuration (PEM text or a file) when given, else the one
 * in the data folder, generated (mode 0600) on first start.
 */
/** No signing key is configured or stored, and none may be made (see `loadSigningKey`). */
export class MissingSigningKeyError extends Error {}

export function loadSigningKey(options: {
  pem?: string | undefined;
  file?: string | undefined;
  dataDir: string;
  /**
   * Make a key when none is configured or stored (default). A command that writes entries for a
   * server to verify passes false: entries under a key made up on the spot would fail its checks.
   */
  generate?: boolean;
}): SigningKey {
  if (options.pem) return signingKeyFrom(parsePrivateKey(options.pem));
  const file = options.file ?? path.join(options.dataDir, 'audit-signing-key.pem');
  if (fs.existsSync(file)) return signingKeyFrom(parsePrivateKey(fs.readFileSync(file, 'utf8')));
  if (options.file) throw new Error(`AUDIT_SIGNING_KEY_FILE ${file} does not exist`);
  if (options.generate === false) {
    throw new MissingSigningKeyError(
      `no audit signing key: AUDIT_SIGNING_KEY and AUDIT_SIGNING_KEY_FILE are not set and ${file} does not exist`,
    );
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  // wx: never overwrite a key another process created meanwhile; read theirs instead.
  try {
    fs.writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      return signingKeyFrom(parsePrivateKey(fs.readFileSync(file, 'utf8')));
    }
    throw err;
  }
  return signingKeyFrom(privateKey);
}
