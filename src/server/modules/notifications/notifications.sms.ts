import { type Outbound, OutboundError } from '../../platform/outbound/outbound.ts';
import { GiveUp, type JobHandler } from '../../platform/outbox/index.ts';
import { findUserById } from '../accounts/index.ts';
import { filterMembersToTell } from '../members/index.ts';
import { findPreferences } from './notifications.repository.ts';

/**
 * SMS for critical alerts. A provider sends one text to one number; the installation's operator
 * configures it (SMS_PROVIDER_URL, SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM). One adapter ships:
 * Twilio's Messages API, which other providers imitate.
 */
export interface SmsProvider {
  /** Sends `body` to `to` (E.164). Throws SmsError; `retry: false` when trying again cannot help. */
  send(message: { to: string; body: string }): Promise<{ id: string | null }>;
}

export class SmsError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
    readonly retryAfter?: Date,
  ) {
    super(message);
    this.name = 'SmsError';
  }
}

export interface TwilioOptions {
  /** `https://api.twilio.com`, or a compatible provider's base. */
  baseUrl: string;
  accountSid: string;
  authToken: string;
  from: string;
}

/**
 * Twilio's Messages API: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, form-encoded
 * `To`, `From`, `Body`, HTTP basic authentication `sid:token`; 201 with the message's `sid`.
 * Through the outbound guard like every request Gatehouse makes (an on-premises gateway is opened
 * with OUTBOUND_ALLOWLIST).
 */
export class TwilioSmsProvider implements SmsProvider {
  constructor(
    private readonly outbound: Outbound,
    private readonly options: TwilioOptions,
  ) {}

  async send(message: { to: string; body: string }): Promise<{ id: string | null }> {
    const { baseUrl, accountSid, authToken, from } = this.options;
    const url = `${baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`;
    const form = new URLSearchParams({ To: message.to, From: from, Body: message.body }).toString();
    let res: Awaited<ReturnType<Outbound['request']>>;
    try {
      res = await this.outbound.request(url, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form,
        timeoutMs: 15_000,
        maxResponseBytes: 64 * 1024,
      });
    } catch (err) {
      // The provider's address refused by the guard is configuration, not a passing failure.
      const reason = err instanceof OutboundError ? err.reason : 'connect';
      throw new SmsError(`the SMS provider could not be reached (${reason})`, reason !== 'not_allowed');
    }
    if (res.status >= 200 && res.status < 300) {
      let id: string | null = null;
      try {
        const json = JSON.parse(res.body.toString('utf8')) as { sid?: unknown };
        id = typeof json.sid === 'string' ? json.sid : null;
      } catch {
        // An answer without a JSON body still means sent.
      }
      return { id };
    }
    const detail = providerMessage(res.body);
    if (res.status === 429 || res.status >= 500) {
      const after = Number(res.headers['retry-after']);
      throw new SmsError(
        `the SMS provider answered ${res.status}${detail}`,
        true,
        Number.isFinite(after) && after > 0 ? new Date(Date.now() + Math.min(after, 3600) * 1000) : undefined,
      );
    }
    // 4xx: a bad number, bad credentials, a blocked recipient: the same text would fail again.
    throw new SmsError(`the SMS provider refused the message: ${res.status}${detail}`, false);
  }
}

/** The provider's own error message (Twilio's `message`), short, for the job's last error. */
function providerMessage(body: Buffer): string {
  try {
    const json = JSON.parse(body.toString('utf8')) as { message?: unknown; code?: unknown };
    if (typeof json.message === 'string') return ` (${json.message.slice(0, 200)})`;
  } catch {
    // not JSON
  }
  return '';
}

export const SMS_SEND = 'notification.sms';

/** The number is read when the text is sent: a number removed meanwhile gets nothing. */
export interface SmsJob {
  userId: string;
  body: string;
}

export function smsHandler(provider: SmsProvider): JobHandler<SmsJob> {
  return {
    kind: SMS_SEND,
    retryDelays: [30, 120, 600, 1800],
    async run(job, info, db) {
      const user = await findUserById(db, job.userId);
      if (!user || user.disabled) return;
      // Removed from the organization while the text waited for a retry: it is not told.
      if (info.orgId && (await filterMembersToTell(db, info.orgId, [job.userId])).length === 0) return;
      const phone = (await findPreferences(db, job.userId))?.phone;
      if (!phone) return;
      try {
        await provider.send({ to: phone, body: job.body });
      } catch (err) {
        if (err instanceof SmsError) {
          if (!err.retry) throw new GiveUp(err.message);
          if (err.retryAfter) return { retryAt: err.retryAfter, error: err.message };
        }
        throw err;
      }
      return undefined;
    },
  };
}

/** E.164: `+`, a country code and number, 8 to 15 digits in all. */
export const E164 = /^\+[1-9][0-9]{7,14}$/;
