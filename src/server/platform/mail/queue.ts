import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { normalizeEmail } from '../auth/email.ts';
import type { Executor } from '../db/client.ts';
import { organizations, users } from '../db/schema.ts';
import { GiveUp, type JobHandler, type OutboxJob, outboxSecretContext } from '../outbox/index.ts';
import { type Secrets, SecretsError } from '../secrets/secrets.ts';
import { type Mailer, type MailMessage, MailRefusedError } from './mailer.ts';

/**
 * Email through the outbox: a message is written as an `email.send` job in the transaction of
 * the change that causes it (so it exists exactly when the change committed, and survives a
 * crash), then sent by whichever instance's worker claims it, retried on the outbox's schedule
 * while the SMTP server is away or answers 4xx.
 *
 * Messages carry links that grant access (password reset, invitation, address proof): the job
 * holds the message only as its `secret`, sealed with platform/secrets under a context naming the
 * job's row (re-sealed by `gatehouse secrets rotate`), never in clear, emptied once it is sent.
 */

export const EMAIL_SEND = 'email.send';

/** The languages emails are written in (the console's). */
export const MAIL_LANGUAGES = ['en', 'es'] as const;
export type MailLanguage = (typeof MAIL_LANGUAGES)[number];

/** What a message says, in one language. */
export interface Letter {
  subject: string;
  text: string;
}

/** The email job's payload: nothing (the message is the job's sealed `secret`). */
export type EmailPayload = Record<string, never>;

/**
 * An attempt may take up to the SMTP timeouts (connect 30 s, greeting 30 s, 60 s of silence);
 * the lease is longer, so another instance takes a message over only from an instance that died.
 */
export const EMAIL_LEASE_SECONDS = 300;

/**
 * Sends `message` for an outbox job: a failure to connect, or a 4xx, is thrown for a retry; a
 * message the server refuses for good (5xx) is given up at once.
 */
export async function sendFromJob(mailer: Mailer, message: MailMessage): Promise<void> {
  try {
    await mailer.send(message);
  } catch (err) {
    if (err instanceof MailRefusedError) throw new GiveUp(err.message, { cause: err });
    throw err;
  }
}

/** The language of a stored locale (`es-MX` → `es`), or `fallback` for none or another. */
export function mailLanguage(locale: string | null | undefined, fallback: MailLanguage = 'en'): MailLanguage {
  const language = locale?.split('-')[0]?.toLowerCase();
  return (MAIL_LANGUAGES as readonly string[]).includes(language ?? '')
    ? (language as MailLanguage)
    : fallback;
}

/**
 * The language the account with this address reads email in: its own choice (`users.locale`);
 * without one, or with no account at that address, `fallback` (an organization's language, when
 * the email is about one).
 */
export async function recipientLanguage(
  db: Executor,
  email: string,
  fallback: MailLanguage = 'en',
): Promise<MailLanguage> {
  const [row] = await db
    .select({ locale: users.locale })
    .from(users)
    .where(eq(users.email, normalizeEmail(email)))
    .limit(1);
  return mailLanguage(row?.locale, fallback);
}

/** The email job for `message`, sealed for its own row. */
export function emailJob(secrets: Secrets, message: MailMessage): OutboxJob<EmailPayload> {
  const id = randomUUID();
  return {
    kind: EMAIL_SEND,
    id,
    payload: {},
    secret: secrets.seal(JSON.stringify(message), outboxSecretContext(id)),
  };
}

/** What `queueEmail` needs of a command's context (or of any transaction's caller). */
export interface MailContext {
  tx: Executor;
  enqueue(job: OutboxJob<EmailPayload>): Promise<string | null>;
  services: { secrets: Secrets };
  /** The organization the command acts in, if any: its language is the fallback. */
  access?: { orgId: string } | undefined;
}

/** The language an organization set for members without their own (Settings → Language). */
async function orgLanguage(db: Executor, orgId: string): Promise<MailLanguage> {
  const [row] = await db
    .select({ language: organizations.language })
    .from(organizations)
    .where(eq(organizations.id, orgId));
  return mailLanguage(row?.language);
}

/**
 * Queues one email to `to` in the caller's transaction, written by `compose` in the recipient's
 * language: `language` when the caller knows it (an address not yet on any account, whose owner
 * is the person asking), else that of the account at `to`, else `fallback`, else the language of
 * the organization the command acts in, else English.
 */
export async function queueEmail(
  ctx: MailContext,
  to: string,
  compose: (language: MailLanguage) => Letter,
  options: { language?: MailLanguage; fallback?: MailLanguage } = {},
): Promise<void> {
  const fallback = options.fallback ?? (ctx.access ? await orgLanguage(ctx.tx, ctx.access.orgId) : 'en');
  const language = options.language ?? (await recipientLanguage(ctx.tx, to, fallback));
  const letter = compose(language);
  await ctx.enqueue(emailJob(ctx.services.secrets, { to, subject: letter.subject, text: letter.text }));
}

/**
 * The `email.send` handler: opens the sealed message and sends it, waiting for the SMTP server's
 * acceptance. A failure to connect, or a 4xx, is retried; a message the server refuses for good
 * (5xx) or that cannot be sent as written is given up at once. A message that does not open here
 * (this instance lacks the key it was sealed under) is retried too: another instance, or this one
 * once configured, may hold it.
 */
export function emailHandler(mailer: Mailer, secrets: Secrets): JobHandler<EmailPayload> {
  return {
    kind: EMAIL_SEND,
    leaseSeconds: EMAIL_LEASE_SECONDS,
    clearPayloadWhenDone: true,
    async run(_payload, job) {
      if (job.secret === null) throw new GiveUp('the message is no longer in the job');
      let message: MailMessage;
      try {
        message = JSON.parse(secrets.open(job.secret, outboxSecretContext(job.id))) as MailMessage;
      } catch (err) {
        if (err instanceof SecretsError) throw err;
        throw new GiveUp('the sealed message is not a message');
      }
      await sendFromJob(mailer, message);
    },
  };
}
