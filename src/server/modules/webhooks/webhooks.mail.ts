import { quoted } from '../../platform/mail/mailer.ts';
import type { Letter, MailLanguage } from '../../platform/mail/queue.ts';

/** The webhooks module's emails, in English and Spanish (names people typed go through `quoted`). */

/** To each member who manages webhooks: Gatehouse turned one off, and why. */
export function webhookDisabled(
  language: MailLanguage,
  p: { orgName: string; url: string; reason: 'gone' | 'failing'; detail: string },
): Letter {
  const org = quoted(p.orgName);
  if (language === 'es') {
    const why =
      p.reason === 'gone'
        ? 'El receptor respondió 410 Gone: dice que la dirección ya no existe.'
        : 'Todas las entregas han fallado durante 5 días seguidos.';
    return {
      subject: `Gatehouse desactivó un webhook de ${org}`,
      text: `El webhook ${p.url} de ${org} se desactivó. ${why}\n\nÚltimo error: ${p.detail}\n\nRevisa el receptor y vuelve a activarlo en Ajustes → Webhooks.\n`,
    };
  }
  const why =
    p.reason === 'gone'
      ? 'The receiver answered 410 Gone: it says the address no longer exists.'
      : 'Every delivery to it has failed for 5 days straight.';
  return {
    subject: `Gatehouse turned off a webhook of ${org}`,
    text: `The webhook ${p.url} of ${org} was turned off. ${why}\n\nLast error: ${p.detail}\n\nCheck the receiver, then turn it back on in Settings → Webhooks.\n`,
  };
}
