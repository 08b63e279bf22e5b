import type { Actor } from '../../platform/actor.ts';
import { quoted } from '../../platform/mail/mailer.ts';
import type { Letter, MailLanguage } from '../../platform/mail/queue.ts';

/**
 * The members module's emails, in English and Spanish. Every name in them was typed by someone
 * (an organization's, a role's, a token's) and goes through `quoted`: defanged, on one line.
 */

/** Who made a change, as an email tells it. */
export function changedBy(actor: Actor, language: MailLanguage): string {
  const es = language === 'es';
  switch (actor.type) {
    case 'user':
      return actor.email;
    case 'token':
      return es
        ? `el token de automatización ${quoted(actor.name)}`
        : `the automation token ${quoted(actor.name)}`;
    case 'operator':
      return es ? 'un operador de esta instalación' : 'an operator of this installation';
    default:
      return es ? 'el sistema' : 'the system';
  }
}

export function promotionAlert(
  language: MailLanguage,
  p: { who: string; roleName: string; orgName: string; by: string },
): Letter {
  const role = quoted(p.roleName);
  const org = quoted(p.orgName);
  return language === 'es'
    ? {
        subject: `${p.who} ahora es ${role} de ${org}`,
        text: `${p.by} dio a ${p.who} el rol ${role} en ${org}.\n\nSi no lo esperabas, revisa ahora los miembros de la organización.\n`,
      }
    : {
        subject: `${p.who} is now ${role} of ${org}`,
        text: `${p.who} was given the ${role} role in ${org} by ${p.by}.\n\nIf you did not expect this, review the organization's members now.\n`,
      };
}

export function roleChanged(
  language: MailLanguage,
  p: { orgName: string; roleName: string; from: string; to: string },
): Letter {
  const org = quoted(p.orgName);
  const role = quoted(p.roleName);
  return language === 'es'
    ? {
        subject: `Tu rol en ${org} ahora es ${role}`,
        text: `Tu rol en ${org} cambió de ${p.from} a ${p.to}.\n`,
      }
    : {
        subject: `Your role in ${org} is now ${role}`,
        text: `Your role in ${org} changed from ${p.from} to ${p.to}.\n`,
      };
}

export function ownershipReceived(language: MailLanguage, p: { orgName: string }): Letter {
  const org = quoted(p.orgName);
  return language === 'es'
    ? {
        subject: `Ahora eres el propietario de ${org}`,
        text: `Se te transfirió la propiedad de ${org}. El propietario anterior ahora es Admin.\n`,
      }
    : {
        subject: `You are now the owner of ${org}`,
        text: `Ownership of ${org} was transferred to you. The previous owner is now an Admin.\n`,
      };
}
