import { quoted } from '../../platform/mail/mailer.ts';
import type { Letter, MailLanguage } from '../../platform/mail/queue.ts';

/**
 * The invitations module's emails, in English and Spanish. An invitation goes to any address a
 * member names: nothing they wrote goes in its subject, and the names in the body are quoted and
 * defanged, so the message cannot carry their phishing text.
 */

const until = (at: Date) => `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export function invitationLetter(
  language: MailLanguage,
  p: { to: string; inviter: string; orgName: string; roleName: string; link: string; expiresAt: Date },
): Letter {
  const inviter = quoted(p.inviter);
  const org = quoted(p.orgName);
  const role = quoted(p.roleName);
  return language === 'es'
    ? {
        subject: 'Te invitaron a una organización en Gatehouse',
        text:
          `${inviter} te invitó a unirte a la organización ${org} como ${role}.\n\n` +
          `Acepta la invitación: ${p.link}\n\n` +
          `Para aceptarla, inicia sesión o crea una cuenta con esta dirección de correo (${p.to}). ` +
          `El enlace funciona una vez y caduca el ${until(p.expiresAt)}.\n` +
          'Si no esperabas esta invitación, ignora este correo.\n',
      }
    : {
        subject: 'You are invited to an organization on Gatehouse',
        text:
          `${inviter} invited you to join the organization ${org} as ${role}.\n\n` +
          `Accept the invitation: ${p.link}\n\n` +
          `Sign in, or create an account with this email address (${p.to}), to accept. ` +
          `The link works once and expires on ${until(p.expiresAt)}.\n` +
          'If you did not expect this invitation, ignore this email.\n',
      };
}

/** To each owner: someone asked to join through the share link. */
export function joinRequestLetter(language: MailLanguage, p: { email: string; orgName: string }): Letter {
  const org = quoted(p.orgName);
  return language === 'es'
    ? {
        subject: `${p.email} pide unirse a ${org}`,
        text: `${p.email} pidió unirse a ${org} mediante su enlace para compartir. Aprueba o rechaza la solicitud en la página de miembros de la organización.\n`,
      }
    : {
        subject: `${p.email} asks to join ${org}`,
        text: `${p.email} asked to join ${org} through its share link. Approve or deny the request in the organization's members page.\n`,
      };
}

/** To the person who asked: they are in. */
export function joinApprovedLetter(language: MailLanguage, p: { orgName: string; roleName: string }): Letter {
  const org = quoted(p.orgName);
  const role = quoted(p.roleName);
  return language === 'es'
    ? {
        subject: `Te uniste a ${org}`,
        text: `Se aprobó tu solicitud para unirte a ${org}. Tu rol: ${role}.\n`,
      }
    : {
        subject: `You joined ${org}`,
        text: `Your request to join ${org} was approved. Your role: ${role}.\n`,
      };
}
