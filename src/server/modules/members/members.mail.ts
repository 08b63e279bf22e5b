import { quoted } from '../../platform/mail/mailer.ts';
import type { Letter, MailLanguage } from '../../platform/mail/queue.ts';

/**
 * The members module's emails, in English and Spanish. Every name in them was typed by someone
 * (an organization's, a role's, a token's) and goes through `quoted`: defanged, on one line.
 */

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
