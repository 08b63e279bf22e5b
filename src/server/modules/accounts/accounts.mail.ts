import { quoted } from '../../platform/mail/mailer.ts';
import type { Letter, MailLanguage } from '../../platform/mail/queue.ts';

/**
 * The mailed-link emails of an account (address proof, password reset, address change), in
 * English and Spanish. Times are written in UTC, the same in both.
 */

const until = (at: Date) => `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export function verificationLetter(
  language: MailLanguage,
  p: { name: string; link: string; expiresAt: Date },
): Letter {
  return language === 'es'
    ? {
        subject: 'Confirma tu dirección de correo para Gatehouse',
        text:
          `Hola ${quoted(p.name)},\n\n` +
          `Confirma que esta dirección es tuya: ${p.link}\n\n` +
          `El enlace funciona una vez y caduca el ${until(p.expiresAt)}.\n` +
          'Si no creaste una cuenta de Gatehouse, ignora este correo.\n',
      }
    : {
        subject: 'Confirm your email address for Gatehouse',
        text:
          `Hello ${quoted(p.name)},\n\n` +
          `Confirm that this address is yours: ${p.link}\n\n` +
          `The link works once and expires on ${until(p.expiresAt)}.\n` +
          'If you did not create a Gatehouse account, ignore this email.\n',
      };
}

export function resetLetter(language: MailLanguage, p: { link: string; expiresAt: Date }): Letter {
  return language === 'es'
    ? {
        subject: 'Restablece tu contraseña de Gatehouse',
        text:
          'Alguien, esperamos que tú, pidió restablecer la contraseña de la cuenta de Gatehouse de esta dirección.\n\n' +
          `Elige una contraseña nueva: ${p.link}\n\n` +
          `El enlace funciona una vez y caduca en una hora (${until(p.expiresAt)}). Al restablecer la contraseña se cierran todas las sesiones de la cuenta.\n` +
          'Si no lo pediste, ignora este correo: tu contraseña sigue siendo la misma.\n',
      }
    : {
        subject: 'Reset your Gatehouse password',
        text:
          'Someone, hopefully you, asked to reset the password of the Gatehouse account for this address.\n\n' +
          `Choose a new password: ${p.link}\n\n` +
          `The link works once and expires in one hour (${until(p.expiresAt)}). Every session of the account ends when the password is reset.\n` +
          'If you did not ask for this, ignore this email: your password stays as it is.\n',
      };
}

/** To the new address: the link that moves the account to it. */
export function emailChangeLetter(
  language: MailLanguage,
  p: { name: string; link: string; expiresAt: Date },
): Letter {
  return language === 'es'
    ? {
        subject: 'Confirma tu nueva dirección de correo para Gatehouse',
        text:
          `${quoted(p.name)} pidió usar esta dirección para su cuenta de Gatehouse.\n\n` +
          `Confírmala (se te pedirá iniciar sesión): ${p.link}\n\n` +
          `El enlace funciona una vez y caduca el ${until(p.expiresAt)}. Si no lo pediste, ignora este correo.\n`,
      }
    : {
        subject: 'Confirm your new email address for Gatehouse',
        text:
          `${quoted(p.name)} asked to use this address for their Gatehouse account.\n\n` +
          `Confirm it (you will be asked to sign in): ${p.link}\n\n` +
          `The link works once and expires on ${until(p.expiresAt)}. If you did not ask for this, ignore this email.\n`,
      };
}

/** To the current address: a change was asked for. */
export function emailChangeNoticeLetter(language: MailLanguage, p: { newEmail: string }): Letter {
  return language === 'es'
    ? {
        subject: 'La dirección de correo de tu cuenta de Gatehouse está a punto de cambiar',
        text:
          `Se pidió cambiar la dirección de correo de tu cuenta de Gatehouse a ${p.newEmail}. ` +
          'El cambio solo ocurre cuando se sigue el enlace enviado a la nueva dirección.\n\n' +
          'Si no fuiste tú, cambia tu contraseña ahora y cierra tus otras sesiones desde la página de tu cuenta.\n',
      }
    : {
        subject: 'Your Gatehouse email address is about to change',
        text:
          `A change of your Gatehouse account's email address to ${p.newEmail} was asked for. ` +
          'It happens only once the link sent to the new address is followed.\n\n' +
          'If this was not you, change your password now and end your other sessions from your account page.\n',
      };
}
