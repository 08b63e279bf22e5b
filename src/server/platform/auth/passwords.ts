import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { hash, verify } from '@node-rs/argon2';
import { RateLimitedError } from '../errors/app-error.ts';

/**
 * The stored hash of an account that has no password (one made by single sign-on): no argon2
 * hash, so no password ever matches it. A password reset gives the account its first password.
 */
export const NO_PASSWORD = '!sso';

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

/** Why a new password is refused: a field error's message, machine reason and parameters. */
export interface PasswordProblem {
  message: string;
  reason: 'minLength' | 'maxLength' | 'common_password' | 'contains_personal_info';
  params?: Record<string, unknown>;
}

/**
 * The lowest zxcvbn score accepted. Score 3 means the estimator puts the password beyond 10^8
 * guesses: online, the sign-in throttle allows a few dozen an hour; offline, should the hashes
 * ever leak, 10^8 argon2id hashes at m = 19 MiB take months of a core's time. Score 2 (10^6–10^8)
 * falls in a day of a modest cracking rig against this hash, which is what it is meant to resist.
 */
export const MIN_PASSWORD_SCORE = 3;

/** How much of a password the estimator reads (see passwordProblem). */
const ESTIMATED_LENGTH = 48;

const COMMON_PASSWORD: PasswordProblem = {
  message: 'is among the most common passwords; choose a longer or less predictable one',
  reason: 'common_password',
};

interface Estimator {
  check(password: string, userInputs?: (string | number)[]): { score: number };
  common: ReadonlySet<string>;
}

let estimator: Promise<Estimator> | undefined;

/**
 * zxcvbn with its common-password and diceware dictionaries and keyboard graphs: about 50,000
 * passwords from public breach corpora. Loaded on the first password set (a few hundred
 * milliseconds, some megabytes), never at start-up, then kept.
 */
function loadEstimator(): Promise<Estimator> {
  estimator ??= (async () => {
    const [{ ZxcvbnFactory }, common] = await Promise.all([
      import('@zxcvbn-ts/core'),
      import('@zxcvbn-ts/language-common'),
    ]);
    const factory = new ZxcvbnFactory({
      dictionary: { ...common.dictionary },
      graphs: common.adjacencyGraphs,
    });
    return {
      check: (password, userInputs) => factory.check(password, userInputs),
      common: new Set(common.dictionary['passwords-common']),
    };
  })();
  return estimator;
}

/**
 * Checks a new password (sign-up, password change, anywhere one is set); the problem, or
 * undefined. `context` is who sets it: a password built on their own email or name is refused.
 */
export async function passwordProblem(
  password: string,
  context: { email?: string; name?: string },
): Promise<PasswordProblem | undefined> {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return {
      message: `must be at least ${PASSWORD_MIN_LENGTH} characters`,
      reason: 'minLength',
      params: { limit: PASSWORD_MIN_LENGTH },
    };
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return {
      message: `must be at most ${PASSWORD_MAX_LENGTH} characters`,
      reason: 'maxLength',
      params: { limit: PASSWORD_MAX_LENGTH },
    };
  }
  const lower = password.toLowerCase();
  const { whole, words } = personalWords(context);
  const compact = lower.replace(/\s+/g, '');
  if (whole.some((part) => compact.includes(part))) {
    return { message: 'must not contain your email address or name', reason: 'contains_personal_info' };
  }
  const { check, common } = await loadEstimator();
  if (common.has(lower) || new Set(password).size < 4) return COMMON_PASSWORD;
  // The estimator also discounts the words of the name and email found inside the password. Its
  // work grows faster than the length (a second of event loop for 256 characters): it judges the
  // first ESTIMATED_LENGTH characters, which a longer password must make strong enough already.
  const judged = [...password].slice(0, ESTIMATED_LENGTH).join('');
  if (check(judged, [...whole, ...words]).score < MIN_PASSWORD_SCORE) return COMMON_PASSWORD;
  return undefined;
}

/**
 * The email's local part and the name (without spaces), lower case: a password containing either
 * is refused outright. Their single words go to the estimator, which discounts them.
 */
function personalWords(context: { email?: string; name?: string }): { whole: string[]; words: string[] } {
  const local = context.email?.split('@')[0]?.toLowerCase() ?? '';
  const name = context.name?.toLowerCase().trim() ?? '';
  const long = (w: string) => [...w].length >= 4;
  return {
    whole: [local, name.replace(/\s+/g, '')].filter(long),
    words: [...local.split(/[^\p{L}\p{N}]+/u), ...name.split(/\s+/)].filter(long),
  };
}
