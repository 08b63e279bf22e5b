import type { CommandContext } from '../../platform/command.ts';
import { quoted } from '../../platform/mail/mailer.ts';

/**
 * Security notices: a short email to the account's address whenever how it is signed in to
 * changes, so whoever holds a stolen session cannot add or remove a credential unnoticed. Sent
 * once the change commits (a change rolled back mails nothing).
 */

export type SecurityNotice =
  | 'two_factor_enabled'
  | 'two_factor_disabled'
  | 'recovery_codes_regenerated'
  | 'passkey_added'
  | 'passkey_removed'
  | 'password_changed'
  | 'two_factor_reset';

/** Every notice's subject starts so: tests and mail filters can tell them from other mail. */
export const NOTICE_SUBJECT_PREFIX = 'Gatehouse security notice:';

const WHAT: Record<SecurityNotice, { subject: string; sentence: (name: string) => string }> = {
  two_factor_enabled: {
    subject: 'two-factor authentication turned on',
    sentence: () => 'Two-factor authentication was turned on for your Gatehouse account.',
  },
  two_factor_disabled: {
    subject: 'two-factor authentication turned off',
    sentence: () =>
      'Two-factor authentication was turned off for your Gatehouse account: signing in now asks only for the password.',
  },
  recovery_codes_regenerated: {
    subject: 'new recovery codes',
    sentence: () =>
      'New recovery codes were made for your Gatehouse account; the previous ones no longer work.',
  },
  passkey_added: {
    subject: 'passkey added',
    sentence: (name) => `A passkey named ${name} was added to your Gatehouse account: it can sign in to it.`,
  },
  passkey_removed: {
    subject: 'passkey removed',
    sentence: (name) => `The passkey named ${name} was removed from your Gatehouse account.`,
  },
  password_changed: {
    subject: 'password changed',
    sentence: () =>
      'The password of your Gatehouse account was changed, and every other session of the account ended.',
  },
  two_factor_reset: {
    subject: 'two-factor authentication reset',
    sentence: () =>
      'An operator of this Gatehouse installation turned two-factor authentication off for your account (a reset, for someone who lost their codes), and every session of the account ended.',
  },
};

const at = (when: Date) => `${when.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * Queues the notice for after commit. `passkeyName` names the passkey of the passkey notices.
 * The request's address and user agent are told as the server saw them (the agent is text the
 * client chose, so it is quoted on one line); an operator's change has neither.
 */
export function mailSecurityNotice(
  ctx: Pick<CommandContext, 'afterCommit' | 'services' | 'meta' | 'actor'>,
  user: { email: string; name: string },
  what: SecurityNotice,
  passkeyName = '',
): void {
  const notice = WHAT[what];
  const when = new Date();
  const byOperator = ctx.actor.type === 'operator';
  const origin = byOperator
    ? 'By: an operator of this Gatehouse installation\n'
    : `From: IP address ${ctx.meta.ip ?? 'unknown'}, ${
        ctx.meta.userAgent ? `browser or client ${quoted(ctx.meta.userAgent)}` : 'no browser named'
      }\n`;
  const advice = byOperator
    ? 'If you did not ask for this, tell the administrators of this installation at once, then change your password and set two-factor authentication up again.\n'
    : 'If this was you, there is nothing to do.\n' +
      'If it was not you, someone else may be signed in to your account: reset your password now (Forgot password on the sign-in page), which ends every session, then check your passkeys and two-factor authentication under Account security.\n';
  const text =
    `Hello ${quoted(user.name)},\n\n` +
    `${notice.sentence(quoted(passkeyName))}\n\n` +
    `When: ${at(when)}\n` +
    origin +
    '\n' +
    advice;
  ctx.afterCommit(() =>
    ctx.services.mailer.dispatch({
      to: user.email,
      subject: `${NOTICE_SUBJECT_PREFIX} ${notice.subject}`,
      text,
    }),
  );
}
