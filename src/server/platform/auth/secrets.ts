import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random secret for a cookie or link: 256 bits, base64url. */
export function generateSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** What is stored in place of a secret. SHA-256 suffices: the input is 256 random bits. */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
