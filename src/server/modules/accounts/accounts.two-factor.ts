import { hash, randomBytes } from 'node:crypto';
import { and, eq, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { Secret, TOTP } from 'otpauth';
import { USERS_CACHE } from '../../platform/auth/sessions.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import type { Executor } from '../../platform/db/client.ts';
import { recoveryCodes, users } from '../../platform/db/schema.ts';
import {
  AppError,
  ConflictError,
  UnauthenticatedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import { registerSealedColumn } from '../../platform/secrets/rotate.ts';
import type { Secrets } from '../../platform/secrets/secrets.ts';
import { mailSecurityNotice } from './accounts.notices.ts';
import { countPasskeys } from './accounts.passkeys.ts';
import { lockUser } from './accounts.repository.ts';

/**
 * TOTP two-factor authentication (RFC 6238: SHA-1, 6 digits, 30 s steps, ±1 step accepted) and
 * recovery codes. The secret is sealed at rest (platform/secrets); recovery codes are stored only
 * as hashes. A code is accepted at most once per user: the highest step accepted is stored, and a
 * code counts only when a guarded UPDATE moves it forward (a recovery code: when a guarded UPDATE
 * marks it used), so of two requests racing with one code exactly one wins, whatever the instance.
 */

export const TOTP_ISSUER = 'Gatehouse';
const PERIOD_S = 30;
const DIGITS = 6;
/** Steps either side of now a code is accepted for (clock drift, typing time). */
const WINDOW = 1;
const SECRET_BYTES = 20;
export const RECOVERY_CODE_COUNT = 10;

const totpContext = (userId: string) => `totp:${userId}`;
const pendingContext = (userId: string) => `totp-pending:${userId}`;

// `gatehouse secrets rotate` re-seals both columns; the context is built from the row's id exactly
// as below.
registerSealedColumn({
  table: 'users',
  idColumn: 'id',
  sealedColumn: 'totp_secret',
  context: (row) => totpContext(String(row.id)),
});
registerSealedColumn({
  table: 'users',
  idColumn: 'id',
  sealedColumn: 'totp_pending_secret',
  context: (row) => pendingContext(String(row.id)),
});

/** The sign-in asks for a second factor: the password was right, 2FA is on and none was given. */
export class SecondFactorRequiredError extends AppError {
  constructor() {
    super(
      401,
      'second_factor_required',
      'Second factor required',
      'Two-factor authentication is on for this account: send `totp` (the current code) or `recoveryCode`.',
    );
  }
}

/** The code given is not a current, unused TOTP code nor an unused recovery code of the account. */
export class InvalidSecondFactorError extends AppError {
  constructor() {
    super(
      401,
      'invalid_second_factor',
      'Invalid second factor',
      'The code is not valid: it is wrong, already used, or from another enrolment.',
    );
  }
}

/** 2FA cannot be turned off while an organization the user is an active member of requires it. */
export class TwoFactorRequiredError extends AppError {
  constructor(orgs: readonly { id: string; name: string }[]) {
    super(
      409,
      'two_factor_required',
      'Two-factor authentication required',
      `Two-factor authentication cannot be turned off: required by ${orgs.map((o) => o.name).join(', ')}.`,
      { params: { orgs: orgs.map((o) => ({ id: o.id, name: o.name })) } },
    );
  }
}

/** Organizations (live, the user an active member) that require 2FA of their members. */
export type TwoFactorPolicy = (db: Executor, userId: string) => Promise<{ id: string; name: string }[]>;

function totpFor(secretBase32: string, label = ''): TOTP {
  return new TOTP({
    issuer: TOTP_ISSUER,
    label,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD_S,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** The time step a timestamp falls in. */
export const totpStep = (now = Date.now()) => Math.floor(now / 1000 / PERIOD_S);

/**
 * The step `code` is valid for under `secretBase32`, within ±1 step of now, or null. The
 * comparison is constant-time (otpauth's).
 */
export function matchTotp(secretBase32: string, code: string, now = Date.now()): number | null {
  if (!/^[0-9]{6}$/.test(code)) return null;
  const delta = totpFor(secretBase32).validate({ token: code, timestamp: now, window: WINDOW });
  return delta === null ? null : totpStep(now) + delta;
}

/** A new secret and its `otpauth://` URL (issuer Gatehouse, labelled with the email). */
export function newTotpSecret(email: string): { secret: string; otpauthUrl: string } {
  const secret = new Secret({ size: SECRET_BYTES }).base32;
  return { secret, otpauthUrl: totpFor(secret, email).toString() };
}

// Crockford's base32: no i, l, o or u, so a code read aloud or copied by hand survives.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** Ten characters (50 bits) shown as `xxxxx-xxxxx`. */
function newRecoveryCode(): string {
  const bytes = randomBytes(10);
  const chars = [...bytes].map((b) => ALPHABET[b & 31]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

/** A recovery code as typed → its canonical form: case, spaces and dashes ignored, o/i/l read as 0/1/1. */
function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '').replace(/o/g, '0').replace(/[il]/g, '1');
}

/** The stored form: SHA-256 of the user id and the code (the same code is a different hash for another user). */
function recoveryCodeHash(userId: string, code: string): Buffer {
  return hash('sha256', `gatehouse recovery code v1\n${userId}\n${normalizeRecoveryCode(code)}`, 'buffer');
}

async function replaceRecoveryCodes(tx: Executor, userId: string): Promise<string[]> {
  await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await tx
    .insert(recoveryCodes)
    .values(codes.map((code) => ({ userId, codeHash: recoveryCodeHash(userId, code) })))
    // A repeat within one set (2^-50 odds) is dropped rather than failing the set-up.
    .onConflictDoNothing();
  return codes;
}

interface TotpState {
  secret: string | null;
  pending: string | null;
  enabled: boolean;
}

async function readTotp(db: Executor, userId: string): Promise<TotpState | undefined> {
  const [row] = await db
    .select({
      secret: users.totpSecret,
      pending: users.totpPendingSecret,
      enabled: sql<boolean>`${users.totpEnabledAt} IS NOT NULL`,
    })
    .from(users)
    .where(eq(users.id, userId));
  return row;
}

/** Whether the account has 2FA on (as this transaction sees it). */
export async function twoFactorEnabled(db: Executor, userId: string): Promise<boolean> {
  return (await readTotp(db, userId))?.enabled ?? false;
}

export type SecondFactor = { totp?: string | undefined; recoveryCode?: string | undefined };
export type SecondFactorMethod = 'totp' | 'recovery_code';

/**
 * Spends a second factor of the user inside the caller's transaction: a TOTP code (its step must
 * be later than the last one accepted) or an unused recovery code. Returns how, or null when
 * neither is valid (wrong, used, from an enrolment since disabled, or 2FA is off). Each guarded
 * UPDATE's row count decides, so concurrent transactions cannot both spend one code; a caller that
 * fails after this rolls the spending back with everything else.
 */
export async function consumeSecondFactor(
  tx: Executor,
  secrets: Secrets,
  userId: string,
  factor: SecondFactor,
): Promise<SecondFactorMethod | null> {
  if (factor.totp !== undefined) {
    const state = await readTotp(tx, userId);
    if (!state?.enabled || !state.secret) return null;
    const step = matchTotp(secrets.open(state.secret, totpContext(userId)), factor.totp);
    if (step === null) return null;
    const advanced = await tx
      .update(users)
      .set({ totpLastStep: step })
      .where(and(eq(users.id, userId), lt(users.totpLastStep, step), isNotNull(users.totpEnabledAt)))
      .returning({ id: users.id });
    return advanced.length === 1 ? 'totp' : null;
  }
  if (factor.recoveryCode !== undefined) {
    const used = await tx
      .update(recoveryCodes)
      .set({ usedAt: sql`now()` })
      .where(
        and(
          eq(recoveryCodes.userId, userId),
          eq(recoveryCodes.codeHash, recoveryCodeHash(userId, factor.recoveryCode)),
          isNull(recoveryCodes.usedAt),
        ),
      )
      .returning({ id: recoveryCodes.id });
    return used.length === 1 ? 'recovery_code' : null;
  }
  return null;
}

/**
 * For a flow that must prove the second factor when 2FA is on (sign-in, password reset): null
 * when 2FA is off; else the factor spent, or 401 `second_factor_required` / `invalid_second_factor`.
 */
export async function requireSecondFactor(
  tx: Executor,
  secrets: Secrets,
  userId: string,
  factor: SecondFactor,
): Promise<SecondFactorMethod | null> {
  if (!(await twoFactorEnabled(tx, userId))) return null;
  if (factor.totp === undefined && factor.recoveryCode === undefined) throw new SecondFactorRequiredError();
  const method = await consumeSecondFactor(tx, secrets, userId, factor);
  if (!method) throw new InvalidSecondFactorError();
  return method;
}

/**
 * Hands out a new pending secret (replacing any earlier one not confirmed). Undefined when 2FA is
 * already on. A plain write, not audited: nothing changes for the account until it is confirmed.
 */
export async function startTotpEnrolment(
  db: Executor,
  secrets: Secrets,
  user: { id: string; email: string },
): Promise<{ secret: string; otpauthUrl: string } | undefined> {
  const enrolment = newTotpSecret(user.email);
  const [row] = await db
    .update(users)
    .set({ totpPendingSecret: secrets.seal(enrolment.secret, pendingContext(user.id)) })
    .where(and(eq(users.id, user.id), isNull(users.totpEnabledAt)))
    .returning({ id: users.id });
  return row ? enrolment : undefined;
}

async function lockSignedInUser(ctx: CommandContext) {
  if (ctx.actor.type !== 'user') throw new UnauthenticatedError();
  const user = await lockUser(ctx.tx, ctx.actor.userId);
  if (!user) throw new UnauthenticatedError();
  return user;
}

const target = (u: { id: string; email: string; name: string }) => ({
  type: 'user',
  id: u.id,
  email: u.email,
  name: u.name,
});

const wrongCode = () =>
  new ValidationError([{ field: '/body/code', message: 'is incorrect' }], 'The code is incorrect.');

/** Confirms the pending secret with a code from it: 2FA is on, and the first recovery codes are made. */
export const confirmTwoFactor = defineCommand({
  action: 'user.2fa_enabled',
  async run(ctx, input: { code: string; secrets: Secrets }) {
    const user = await lockSignedInUser(ctx);
    const state = await readTotp(ctx.tx, user.id);
    if (state?.enabled) throw new ConflictError('Two-factor authentication is already on.');
    if (!state?.pending) {
      throw new ConflictError('There is no set-up to confirm: start it first (POST /api/v1/me/2fa/totp).');
    }
    const secret = input.secrets.open(state.pending, pendingContext(user.id));
    const step = matchTotp(secret, input.code);
    if (step === null) throw wrongCode();
    await ctx.tx
      .update(users)
      .set({
        totpSecret: input.secrets.seal(secret, totpContext(user.id)),
        totpPendingSecret: null,
        totpEnabledAt: sql`now()`,
        // The confirming code is spent: it cannot sign in as well.
        totpLastStep: step,
        updatedAt: sql`now()`,
      })
      .where(eq(users.id, user.id));
    const codes = await replaceRecoveryCodes(ctx.tx, user.id);
    // Every instance sees twoFactorEnabled change with the next request.
    await ctx.invalidate(USERS_CACHE, user.id);
    await mailSecurityNotice(ctx, user, 'two_factor_enabled');
    ctx.record({
      target: target(user),
      before: { twoFactorEnabled: false },
      after: { twoFactorEnabled: true },
    });
    return { recoveryCodes: codes };
  },
});

/** Clears the secret, any pending one and the recovery codes of `userId` (2FA off). */
async function clearTwoFactor(tx: Executor, userId: string): Promise<void> {
  await tx
    .update(users)
    .set({ totpSecret: null, totpPendingSecret: null, totpEnabledAt: null, updatedAt: sql`now()` })
    .where(eq(users.id, userId));
  await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
}

/**
 * Turns 2FA off with a current code or a recovery code (the password was checked before). Refused
 * with 409 `two_factor_required` while an organization of the user requires it and the account
 * has no passkey.
 */
export const disableTwoFactor = defineCommand({
  action: 'user.2fa_disabled',
  async run(ctx, input: { code: string; secrets: Secrets; requiredBy: TwoFactorPolicy }) {
    const user = await lockSignedInUser(ctx);
    if (!(await twoFactorEnabled(ctx.tx, user.id))) {
      throw new ConflictError('Two-factor authentication is not on.');
    }
    // A passkey meets those organizations' requirement too (signed in with it): with one, the
    // account can still comply, so TOTP may go.
    const requiring = await input.requiredBy(ctx.tx, user.id);
    if (requiring.length > 0 && (await countPasskeys(ctx.tx, user.id)) === 0) {
      throw new TwoFactorRequiredError(requiring);
    }
    // Six digits are a TOTP code; anything else is tried as a recovery code.
    const factor = /^[0-9]{6}$/.test(input.code) ? { totp: input.code } : { recoveryCode: input.code };
    const method = await consumeSecondFactor(ctx.tx, input.secrets, user.id, factor);
    if (!method) throw wrongCode();
    await clearTwoFactor(ctx.tx, user.id);
    await ctx.invalidate(USERS_CACHE, user.id);
    await mailSecurityNotice(ctx, user, 'two_factor_disabled');
    ctx.record({
      target: target(user),
      before: { twoFactorEnabled: true },
      after: { twoFactorEnabled: false, confirmedWith: method },
    });
  },
});

/** A new set of recovery codes; the old set stops working (the password was checked before). */
export const regenerateRecoveryCodes = defineCommand({
  action: 'user.recovery_codes_regenerated',
  async run(ctx, _input: Record<string, never>) {
    const user = await lockSignedInUser(ctx);
    if (!(await twoFactorEnabled(ctx.tx, user.id))) {
      throw new ConflictError('Two-factor authentication is not on: there are no recovery codes.');
    }
    const codes = await replaceRecoveryCodes(ctx.tx, user.id);
    await mailSecurityNotice(ctx, user, 'recovery_codes_regenerated');
    ctx.record({ target: target(user), after: { codesIssued: codes.length } });
    return { recoveryCodes: codes };
  },
});

/**
 * Turns 2FA off for an account whose owner lost every factor (the operator's reset). The caller
 * holds the user's row lock; returns false when 2FA was already off.
 */
export async function resetTwoFactor(tx: Executor, userId: string): Promise<boolean> {
  if (!(await twoFactorEnabled(tx, userId))) return false;
  await clearTwoFactor(tx, userId);
  return true;
}
