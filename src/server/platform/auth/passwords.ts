import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { hash, verify } from '@node-rs/argon2';
import { RateLimitedError } from '../errors/app-error.ts';

/**
 * argon2id with OWASP's recommended parameters (m = 19 MiB, t = 2, p = 1). @node-rs/argon2
 * runs each hash on the libuv thread pool, so the event loop keeps serving while it works.
 */
// algorithm 2 is Argon2id (the package's const enum cannot be imported under verbatimModuleSyntax).
const PARAMS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const CURRENT_PREFIX = '$argon2id$v=19$m=19456,t=2,p=1$';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * How many hashes run at once. argon2 is CPU-bound: with as many hashes as cores, the event loop
 * has to fight for a core and every request waits. Leaving one core free keeps the server
 * responsive during a burst of sign-ins, at a small cost in sign-ins per second.
 */
let slots = Math.max(1, os.availableParallelism() - 1);
/** Hashes queued beyond this are refused (429, retry shortly) rather than piling up without bound. */
const MAX_WAITING = 1_000;
let active = 0;
const waiting: Array<() => void> = [];

export function setPasswordHashingConcurrency(concurrency: number): void {
  slots = Math.max(1, concurrency);
}

async function withSlot<T>(work: () => Promise<T>): Promise<T> {
  if (active >= slots) {
    if (waiting.length >= MAX_WAITING) {
      throw new RateLimitedError(1, 'Too many sign-ins at once. Try again shortly.');
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else {
    active++;
  }
  try {
    return await work();
  } finally {
    // Hand the slot straight to the next in line, or give it back.
    const next = waiting.shift();
    if (next) next();
    else active--;
  }
}

export function hashPassword(password: string): Promise<string> {
  return withSlot(() => hash(password, PARAMS));
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies a password. With no stored hash (unknown account) it verifies against a dummy hash
 * anyway, so "no such user" and "wrong password" cost the same time.
 */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (stored === null) {
    dummyHash ??= hashPassword(randomBytes(24).toString('base64url'));
    const dummy = await dummyHash;
    await withSlot(() => verify(dummy, password).catch(() => false));
    return false;
  }
  return withSlot(() => verify(stored, password).catch(() => false));
}

/** A stored hash made with weaker or older parameters is replaced at the next successful login. */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith(CURRENT_PREFIX);
}

/** Prepares the dummy hash in the background so the first unknown-email login is not slower. */
export function warmUpPasswordHashing(): void {
  dummyHash ??= hashPassword(randomBytes(24).toString('base64url'));
}

/** Checks a new password; returns a sentence saying what is wrong, or undefined. */
export function passwordProblem(
  password: string,
  context: { email?: string; name?: string },
): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  if (new Set(password).size < 4) return 'is too repetitive';
  const lower = password.toLowerCase();
  const email = context.email?.toLowerCase();
  if (email && (lower === email || lower === email.split('@')[0])) return 'must not be your email address';
  if (context.name && lower === context.name.toLowerCase()) return 'must not be your name';
  if (COMMON_PASSWORDS.has(lower)) return 'is too common';
  return undefined;
}

// Long enough to pass the length rule yet among the most used passwords in public breach lists.
const COMMON_PASSWORDS = new Set([
  '123456789012',
  '1234567890123',
  'qwertyuiopasdf',
  'qwertyuiop123',
  'password1234',
  'password12345',
  'passwordpassword',
  'iloveyou1234',
  'administrator',
  'changemenow1',
  'letmein12345',
  'welcome12345',
  '1q2w3e4r5t6y',
  'abcdefghijkl',
  'abc123456789',
  'trustno1trustno1',
  'qazwsxedcrfv',
  '1qaz2wsx3edc',
  'zaq12wsxcde3',
  'superman1234',
  'football1234',
  'baseball1234',
  'monkey123456',
  'dragon123456',
  'sunshine1234',
  'princess1234',
  'starwars1234',
  'correcthorsebatterystaple',
]);
