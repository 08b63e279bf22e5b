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
/** Hashes one account may have waiting; more are refused (429) rather than queued. */
export const MAX_WAITING_PER_ACCOUNT = 8;
/** Hashes waiting in all; more are refused (429, retry shortly) rather than piling up without bound. */
const MAX_WAITING = 1_000;
let active = 0;
let waitingCount = 0;
/**
 * Waiting hashes, one queue per account, in the order the accounts are served. Slots go round
 * the accounts (one hash each, then the next account), so an account flooding the server with
 * sign-ins delays another account's sign-in by at most one of its hashes per slot: the flood
 * waits behind itself, never in front of everyone else.
 */
const queues = new Map<string, Array<() => void>>();
/** Told as each hash queues for a slot and as it starts: the order of service is observable. */
type HashListener = (event: 'queued' | 'started', account: string) => void;
const listeners = new Set<HashListener>();

export function setPasswordHashingConcurrency(concurrency: number): void {
  slots = Math.max(1, concurrency);
}

/** Calls `listener` as each hash queues and as it starts; returns the unsubscribe. */
export function onPasswordHashing(listener: HashListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Hashes of `account` waiting for a slot. */
export function waitingPasswordHashes(account: string): number {
  return queues.get(account)?.length ?? 0;
}

function tell(event: 'queued' | 'started', account: string): void {
  for (const listener of listeners) listener(event, account);
}

/** Hands a freed slot to the account whose turn it is, or gives the slot back. */
function handOver(): void {
  for (const [account, queue] of queues) {
    const next = queue.shift()!;
    waitingCount--;
    // The account goes to the back of the line; with nothing left waiting it leaves it.
    queues.delete(account);
    if (queue.length > 0) queues.set(account, queue);
    next();
    return;
  }
  active--;
}

async function withSlot<T>(account: string, work: () => Promise<T>): Promise<T> {
  if (active >= slots) {
    const queue = queues.get(account);
    if (waitingCount >= MAX_WAITING || (queue?.length ?? 0) >= MAX_WAITING_PER_ACCOUNT) {
      throw new RateLimitedError(1, 'Too many sign-ins at once. Try again shortly.');
    }
    await new Promise<void>((resolve) => {
      if (queue) queue.push(resolve);
      else queues.set(account, [resolve]);
      waitingCount++;
      tell('queued', account);
    });
  } else {
    active++;
  }
  try {
    tell('started', account);
    return await work();
  } finally {
    handOver();
  }
}

/**
 * Hashes a new password. `account` names whose request this is (`user:<id>`, `email:<address>`):
 * hashing capacity is shared fairly between accounts.
 */
export function hashPassword(password: string, account: string): Promise<string> {
  return withSlot(account, () => hash(password, PARAMS));
}

let dummyHash: Promise<string> | undefined;
const DUMMY_ACCOUNT = 'dummy';

/**
 * Verifies a password for `account` (see hashPassword). With no stored hash (unknown account) it
 * verifies against a dummy hash anyway, so "no such user" and "wrong password" cost the same time.
 */
export async function verifyPassword(
  stored: string | null,
  password: string,
  account: string,
): Promise<boolean> {
  if (stored === null) {
    dummyHash ??= hashPassword(randomBytes(24).toString('base64url'), DUMMY_ACCOUNT);
    const dummy = await dummyHash;
    await withSlot(account, () => verify(dummy, password).catch(() => false));
    return false;
  }
  return withSlot(account, () => verify(stored, password).catch(() => false));
}

/** A stored hash made with weaker or older parameters is replaced at the next successful login. */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith(CURRENT_PREFIX);
}

/** Prepares the dummy hash in the background so the first unknown-email login is not slower. */
export function warmUpPasswordHashing(): void {
  dummyHash ??= hashPassword(randomBytes(24).toString('base64url'), DUMMY_ACCOUNT);
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
