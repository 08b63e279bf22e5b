import type { CommandContext } from '../../platform/command.ts';
import { quoted } from '../../platform/mail/mailer.ts';
import { type MailLanguage, queueEmail } from '../../platform/mail/queue.ts';

/**
 * Security notices: a short email to the account's address whenever how it is signed in to
 * changes, so whoever holds a stolen session cannot add or remove a credential unnoticed. Queued
 * in the change's transaction (a change rolled back mails nothing), in the account's language.
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
/** The same, in Spanish. */
export const NOTICE_SUBJECT_PREFIX_ES = 'Aviso de seguridad de Gatehouse:';

type Wording = Record<SecurityNotice, { subject: string; sentence: (name: string) => string }>;

const WHAT: Record<MailLanguage, Wording> = {
  en: {
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
      sentence: (name) =>
        `A passkey named ${name} was added to your Gatehouse account: it can sign in to it.`,
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
  },
  es: {
    two_factor_enabled: {
      subject: 'autenticación en dos pasos activada',
      sentence: () => 'Se activó la autenticación en dos pasos en tu cuenta de Gatehouse.',
    },
    two_factor_disabled: {
      subject: 'autenticación en dos pasos desactivada',
      sentence: () =>
        'Se desactivó la autenticación en dos pasos en tu cuenta de Gatehouse: para iniciar sesión ahora solo se pide la contraseña.',
    },
    recovery_codes_regenerated: {
      subject: 'nuevos códigos de recuperación',
      sentence: () =>
        'Se generaron nuevos códigos de recuperación para tu cuenta de Gatehouse; los anteriores ya no funcionan.',
    },
    passkey_added: {
      subject: 'llave de acceso añadida',
      sentence: (name) =>
        `Se añadió a tu cuenta de Gatehouse una llave de acceso llamada ${name}: con ella se puede iniciar sesión en la cuenta.`,
    },
    passkey_removed: {
      subject: 'llave de acceso eliminada',
      sentence: (name) => `Se eliminó de tu cuenta de Gatehouse la llave de acceso llamada ${name}.`,
    },
    password_changed: {
      subject: 'contraseña cambiada',
      sentence: () =>
        'Se cambió la contraseña de tu cuenta de Gatehouse y se cerraron todas las demás sesiones de la cuenta.',
    },
    two_factor_reset: {
      subject: 'autenticación en dos pasos restablecida',
      sentence: () =>
        'Un operador de esta instalación de Gatehouse desactivó la autenticación en dos pasos de tu cuenta (un restablecimiento, para quien perdió sus códigos) y se cerraron todas las sesiones de la cuenta.',
    },
  },
};

const at = (when: Date) => `${when.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * Queues the notice in the change's transaction. `passkeyName` names the passkey of the passkey
 * notices. The request's address and user agent are told as the server saw them (the agent is
 * text the client chose, so it is quoted on one line); an operator's change has neither.
 */
export async function mailSecurityNotice(
  ctx: Pick<CommandContext, 'tx' | 'enqueue' | 'services' | 'meta' | 'actor'>,
  user: { email: string; name: string },
  what: SecurityNotice,
  passkeyName = '',
): Promise<void> {
  const when = new Date();
  const byOperator = ctx.actor.type === 'operator';
  const { ip, userAgent } = ctx.meta;
  await queueEmail(ctx, user.email, (language) => {
    const notice = WHAT[language][what];
    const es = language === 'es';
    const origin = byOperator
      ? es
        ? 'Por: un operador de esta instalación de Gatehouse\n'
        : 'By: an operator of this Gatehouse installation\n'
      : es
        ? `Desde: dirección IP ${ip ?? 'desconocida'}, ${
            userAgent ? `navegador o cliente ${quoted(userAgent)}` : 'ningún navegador indicado'
          }\n`
        : `From: IP address ${ip ?? 'unknown'}, ${
            userAgent ? `browser or client ${quoted(userAgent)}` : 'no browser named'
          }\n`;
    const advice = byOperator
      ? es
        ? 'Si no lo pediste, avisa enseguida a los administradores de esta instalación; después cambia tu contraseña y vuelve a configurar la autenticación en dos pasos.\n'
        : 'If you did not ask for this, tell the administrators of this installation at once, then change your password and set two-factor authentication up again.\n'
      : es
        ? 'Si fuiste tú, no hay nada que hacer.\n' +
          'Si no fuiste tú, puede que otra persona haya iniciado sesión en tu cuenta: restablece tu contraseña ahora (¿Olvidaste tu contraseña? en la página de inicio de sesión), lo que cierra todas las sesiones, y revisa después tus llaves de acceso y la autenticación en dos pasos en Seguridad de la cuenta.\n'
        : 'If this was you, there is nothing to do.\n' +
          'If it was not you, someone else may be signed in to your account: reset your password now (Forgot password on the sign-in page), which ends every session, then check your passkeys and two-factor authentication under Account security.\n';
    return {
      subject: `${es ? NOTICE_SUBJECT_PREFIX_ES : NOTICE_SUBJECT_PREFIX} ${notice.subject}`,
      text:
        `${es ? 'Hola' : 'Hello'} ${quoted(user.name)},\n\n` +
        `${notice.sentence(quoted(passkeyName))}\n\n` +
        `${es ? 'Cuándo' : 'When'}: ${at(when)}\n` +
        origin +
        '\n' +
        advice,
    };
  });
}
