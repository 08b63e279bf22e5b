import { quoted } from '../../platform/mail/mailer.ts';
import type { Letter, MailLanguage } from '../../platform/mail/queue.ts';

/** A member moved to another role because theirs was deleted (English and Spanish). */
export function movedByDeletion(
  language: MailLanguage,
  p: { orgName: string; roleName: string; from: string; to: string; deletedRoleName: string },
): Letter {
  const org = quoted(p.orgName);
  const role = quoted(p.roleName);
  const deleted = quoted(p.deletedRoleName);
  return language === 'es'
    ? {
        subject: `Tu rol en ${org} ahora es ${role}`,
        text: `Tu rol en ${org} cambió de ${p.from} a ${p.to}: se eliminó el rol ${deleted}.\n`,
      }
    : {
        subject: `Your role in ${org} is now ${role}`,
        text: `Your role in ${org} changed from ${p.from} to ${p.to}: the ${deleted} role was deleted.\n`,
      };
}
