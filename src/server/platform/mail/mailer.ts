import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/**
 * Sends email now. Everything Gatehouse mails goes through the outbox instead (`queueEmail` in
 * platform/mail/queue.ts): written with the change that causes it, sent by the `email.send` job,
 * retried while the SMTP server is away.
 */
export interface Mailer {
  /**
   * Resolves once the message is accepted by the SMTP server or written to the data folder.
   * Rejects with MailRefusedError for a message that can never be sent as it is (no single
   * recipient, a line break in the subject, a permanent refusal by the server).
   */
  send(message: MailMessage): Promise<void>;
  /**
   * Waits for the messages being sent, then closes the SMTP connections; with `abandon` (a
   * shutdown whose jobs were released to other instances) closes them at once, failing those sends.
   */
  close(options?: { abandon?: boolean }): Promise<void>;
}

/** A message that sending again cannot help: malformed, or refused for good (SMTP 5xx). */
export class MailRefusedError extends Error {
  override name = 'MailRefusedError';
}

/**
 * How long the SMTP server may keep us waiting: connecting, its greeting, and any silence after.
 * Bounded well inside the `email.send` job's lease, so an attempt that hangs ends (and is retried)
 * before another instance could take the same message over.
 */
export const SMTP_TIMEOUTS = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 60_000 };

export interface MailerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface MailerOptions {
  /** smtp:// or smtps:// URL; without it messages are written to `<dataDir>/mail/` instead of sent. */
  smtpUrl: string | undefined;
  from: string;
  dataDir: string;
  log: MailerLog;
}

export function createMailer(options: MailerOptions): Mailer {
  const from = readSingleAddress('sender', options.from);
  const deliver = options.smtpUrl
    ? createSmtpDelivery(options.smtpUrl, from, options.log)
    : createFolderDelivery(path.join(options.dataDir, 'mail'), from, options.log);
  const inFlight = new Set<Promise<void>>();
  return {
    async send(message) {
      const sending = deliver.send(composeMessage(message));
      inFlight.add(sending);
      try {
        await sending;
      } catch (err) {
        // 5xx: the server will refuse it again (an unknown mailbox); 4xx and network failures pass.
        const code = (err as { responseCode?: unknown }).responseCode;
        if (typeof code === 'number' && code >= 500) {
          throw new MailRefusedError((err as Error).message, { cause: err });
        }
        throw err;
      } finally {
        inFlight.delete(sending);
      }
    },
    async close(options = {}) {
      if (!options.abandon) await Promise.allSettled(inFlight);
      deliver.close();
    },
  };
}

interface Delivery {
  send(message: SendMailOptions & { to: string; subject: string; text: string }): Promise<void>;
  close(): void;
}

function createSmtpDelivery(smtpUrl: string, from: string, log: MailerLog): Delivery {
  // Pooled: one connection serves many messages instead of a TCP + TLS + AUTH handshake each.
  // A `pool=false` in the URL still wins over this default.
  const transport = nodemailer.createTransport({ url: smtpUrl, pool: true, ...SMTP_TIMEOUTS }, { from });
  // Mail re-emits transport errors; an EventEmitter 'error' with no listener would end the process.
  transport.on('error', (err) => log.warn({ err }, 'SMTP transport error'));
  return {
    async send(message) {
      await transport.sendMail(message);
    },
    close() {
      transport.close();
    },
  };
}

/**
 * The embedded default: each message, built exactly as it would be sent, is written as an .eml
 * file that any mail client opens. The log names the file, never the body or its links: those
 * carry live invitation and sign-in tokens, and logs travel further than the data folder.
 */
function createFolderDelivery(dir: string, from: string, log: MailerLog): Delivery {
  const transport = nodemailer.createTransport(
    { streamTransport: true, buffer: true, newline: 'windows' },
    { from },
  );
  return {
    async send(message) {
      const info = await transport.sendMail(message);
      if (!Buffer.isBuffer(info.message)) throw new Error('the stream transport did not return a buffer');
      // Messages carry sign-in and invitation links: readable by the account running Gatehouse only.
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const file = path.join(dir, messageFileName());
      // `wx` never overwrites nor follows a file someone placed under that name.
      await fs.writeFile(file, info.message, { mode: 0o600, flag: 'wx' });
      log.info({ to: message.to, subject: message.subject, file }, 'email written to the data folder');
    },
    close() {
      transport.close();
    },
  };
}

/**
 * `20261120T101530.123Z-<random>.eml`: ISO 8601 in its basic format, because `:` is not allowed
 * in file names on Windows; names sort by time, and the random part keeps same-millisecond
 * messages apart. Generated entirely here, so nothing a caller passes can reach the path.
 */
function messageFileName(): string {
  return `${new Date().toISOString().replace(/[-:]/g, '')}-${randomBytes(6).toString('hex')}.eml`;
}

function composeMessage(
  message: MailMessage,
): SendMailOptions & { to: string; subject: string; text: string } {
  // nodemailer folds a line break in the subject into a space, but a line break in `to` makes it
  // read what follows as more recipients: a caller passing user input must never get that far.
  refuseControlCharacters('subject', message.subject);
  const to = readSingleAddress('recipient', message.to);
  const composed: SendMailOptions & { to: string; subject: string; text: string } = {
    to,
    subject: message.subject,
    text: message.text,
  };
  if (message.html !== undefined) composed.html = message.html;
  return composed;
}

/**
 * Exactly one mailbox, returned as given. A comma or a group in the value would otherwise quietly
 * add recipients to a message meant for one person.
 */
function readSingleAddress(what: string, value: string): string {
  refuseControlCharacters(what, value);
  const parsed = addressparser(value, { flatten: true });
  if (parsed.length !== 1 || !parsed[0]?.address.includes('@')) {
    throw new MailRefusedError(`the email ${what} must be exactly one address`);
  }
  return value;
}

function refuseControlCharacters(what: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) {
      throw new MailRefusedError(
        `the email ${what} must not contain line breaks or other control characters`,
      );
    }
  }
}

/**
 * Text people typed (names), made fit for a subject line: control characters, line breaks
 * included, become spaces, since the mailer refuses a subject with a line break.
 */
export const oneLine = (text: string) => text.replace(/\p{Cc}+/gu, ' ');

const MAX_QUOTED = 80;

/**
 * A name someone typed (a person's, an organization's, a role's), as every email shows it: it is
 * untrusted text, written by whoever chose it, and must not read as ours nor become a link. On one
 * line, at most 80 characters, in double quotes, and defanged so no mail client can turn it into a
 * link: `reset your password at http://evil.example` reads
 * `"reset your password at hxxp[:]//evil[.]example"`.
 */
export function quoted(text: string): string {
  // Compatibility forms first (one-dot leaders, small and full-width dots and colons become the
  // characters a mail client links on); then no invisible or direction-changing characters
  // (format characters: bidi overrides, zero-width joiners), which would hide what the link is.
  let s = oneLine(text.normalize('NFKC'))
    .replace(/\p{Cf}/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (s.length > MAX_QUOTED) s = `${s.slice(0, MAX_QUOTED - 3)}...`;
  s = s
    .replace(/"/g, "'")
    // Schemes (http, https, ftp…) and `www.` are what clients link on sight; dots make domains.
    .replace(/\b(h)tt(ps?)\b/gi, '$1xx$2')
    .replace(/:\/\//g, '[:]//')
    .replace(/[.\u3002\uff0e\uff61](?=\S)/g, '[.]')
    .replace(/@/g, '[@]');
  return `"${s}"`;
}
