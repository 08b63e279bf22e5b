import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random secret for a cookie or link: 256 bits, base64url. */
export function generateSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** What is stored in place of a secret. SHA-256 suffices: the input is 256 random bits. */
export function hashSecret(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}

/** The same hash as hex: the key of in-memory caches (one-shot hash: no Hash object per call). */
export function hashSecretHex(secret: string): string {
  return hash('sha256', secret, 'hex');
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
