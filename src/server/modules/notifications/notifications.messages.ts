import type { NotificationType } from '../../../contracts/notifications.ts';
import type { ActorRef } from '../../platform/actor.ts';
import { oneLine, quoted } from '../../platform/mail/mailer.ts';

/**
 * What each notification says, in English and Spanish. A notification stores its particulars
 * (`params`) and is put into words when read, in the reader's language at that moment. Names in
 * params are text people typed: in an email they are quoted and defanged (`quoted`), in the
 * console (shown as text, never as HTML) quoted as they are.
 */

export type Language = 'en' | 'es';

/** The language of a user's locale (`es-MX` is Spanish); English otherwise. */
export const languageOf = (locale: string | null | undefined): Language =>
  locale?.toLowerCase().startsWith('es') ? 'es' : 'en';

export interface NotificationParams {
  orgName: string;
  /** finding_assigned */
  findingTitle?: string;
  severity?: string;
  applicationName?: string | null;
  /** Who did it: a person (their email), an automation token (its name) or an operator. */
  by?: ActorRef;
  /** scan_completed */
  counts?: { total: number; critical: number; high: number; medium: number; low: number };
  /** role_changed, promoted_to_admin, member_joined */
  roleName?: string;
  /** promoted_to_admin, member_joined: the person, by email. */
  who?: string;
  /** quota_warning */
  percent?: number;
  month?: string;
  /** payment_failed: the invoice as printed (`INV-000042`) and its total as money. */
  invoiceNumber?: string;
  amount?: string;
}

export interface Rendered {
  title: string;
  body: string;
}

/** How a name is set in text: quoted and defanged for email, quoted as typed for the console. */
type Quote = (name: string) => string;
const consoleQuote: Quote = (name) => {
  const s = oneLine(name).trim();
  return `“${s.length > 80 ? `${s.slice(0, 77)}...` : s}”`;
};
/** The promotion alert's subject is matched by mail filters: kept as it always was. */
const emailQuote: Quote = quoted;

const SEVERITY: Record<Language, Record<string, string>> = {
  en: { critical: 'critical', high: 'high', medium: 'medium', low: 'low' },
  es: { critical: 'crítica', high: 'alta', medium: 'media', low: 'baja' },
};

/** Who did it, in words; null when nobody is named. */
function byWhom(p: NotificationParams, lang: Language, q: Quote): string | null {
  const by = p.by;
  if (!by) return null;
  if ('email' in by) return by.email;
  if ('token' in by)
    return lang === 'es'
      ? `el token de automatización ${q(by.token)}`
      : `the automation token ${q(by.token)}`;
  return lang === 'es' ? 'un operador de esta instalación' : 'an operator of this installation';
}

function counts(p: NotificationParams, lang: Language): string {
  const c = p.counts ?? { total: 0, critical: 0, high: 0, medium: 0, low: 0 };
  return lang === 'es'
    ? `${c.total} hallazgos: ${c.critical} críticos, ${c.high} altos, ${c.medium} medios, ${c.low} bajos.`
    : `${c.total} findings: ${c.critical} critical, ${c.high} high, ${c.medium} medium, ${c.low} low.`;
}

const TEXTS: Record<NotificationType, (p: NotificationParams, lang: Language, q: Quote) => Rendered> = {
  finding_assigned: (p, lang, q) => {
    const severity = SEVERITY[lang][p.severity ?? ''] ?? p.severity ?? '';
    const where = p.applicationName ? q(p.applicationName) : '';
    const by = byWhom(p, lang, q);
    return lang === 'es'
      ? {
          title: `Se te asignó un hallazgo de severidad ${severity}: ${q(p.findingTitle ?? '')}`,
          body: `${by ? `${by} te asignó` : 'Se te asignó'} el hallazgo ${q(p.findingTitle ?? '')}${where ? ` de ${where}` : ''} en ${q(p.orgName)}.`,
        }
      : {
          title: `A ${severity} finding was assigned to you: ${q(p.findingTitle ?? '')}`,
          body: `${by ? `${by} assigned you` : 'You were assigned'} the finding ${q(p.findingTitle ?? '')}${where ? ` in ${where}` : ''} of ${q(p.orgName)}.`,
        };
  },
  scan_completed: (p, lang, q) =>
    lang === 'es'
      ? {
          title: `Terminó el análisis de ${q(p.applicationName ?? '')}`,
          body: `Tu análisis de ${q(p.applicationName ?? '')} en ${q(p.orgName)} terminó. ${counts(p, lang)}`,
        }
      : {
          title: `Scan of ${q(p.applicationName ?? '')} completed`,
          body: `Your scan of ${q(p.applicationName ?? '')} in ${q(p.orgName)} completed. ${counts(p, lang)}`,
        },
  role_changed: (p, lang, q) => {
    const by = byWhom(p, lang, q);
    return lang === 'es'
      ? {
          title: `Tu rol en ${q(p.orgName)} ahora es ${q(p.roleName ?? '')}`,
          body: `${by ? `${by} cambió tu rol` : 'Tu rol cambió'} en ${q(p.orgName)} a ${q(p.roleName ?? '')}.`,
        }
      : {
          title: `Your role in ${q(p.orgName)} is now ${q(p.roleName ?? '')}`,
          body: `${by ? `${by} changed your role` : 'Your role changed'} in ${q(p.orgName)} to ${q(p.roleName ?? '')}.`,
        };
  },
  promoted_to_admin: (p, lang, q) => {
    const by = byWhom(p, lang, q);
    return lang === 'es'
      ? {
          title: `${p.who} ahora es ${q(p.roleName ?? '')} de ${q(p.orgName)}`,
          body: `${p.who} recibió el rol ${q(p.roleName ?? '')} en ${q(p.orgName)}${by ? ` de manos de ${by}` : ''}.\n\nSi no lo esperabas, revisa ahora los miembros de la organización.`,
        }
      : {
          title: `${p.who} is now ${q(p.roleName ?? '')} of ${q(p.orgName)}`,
          body: `${p.who} was given the ${q(p.roleName ?? '')} role in ${q(p.orgName)}${by ? ` by ${by}` : ''}.\n\nIf you did not expect this, review the organization's members now.`,
        };
  },
  quota_warning: (p, lang, q) => {
    const all = (p.percent ?? 0) >= 100;
    return lang === 'es'
      ? {
          title: all
            ? `${q(p.orgName)} agotó sus tokens de ${p.month}`
            : `${q(p.orgName)} usó el ${p.percent} % de sus tokens de ${p.month}`,
          body: all
            ? `${q(p.orgName)} usó todos los tokens del mes ${p.month}: los análisis nuevos se rechazarán hasta el mes que viene, salvo que se amplíe la cuota.`
            : `${q(p.orgName)} alcanzó el ${p.percent} % de los tokens del mes ${p.month}.`,
        }
      : {
          title: all
            ? `${q(p.orgName)} has used all its tokens for ${p.month}`
            : `${q(p.orgName)} has used ${p.percent}% of its tokens for ${p.month}`,
          body: all
            ? `${q(p.orgName)} has used every token of ${p.month}: new scans are refused until next month unless the quota is raised.`
            : `${q(p.orgName)} reached ${p.percent}% of its tokens for ${p.month}.`,
        };
  },
  payment_failed: (p, lang, q) =>
    lang === 'es'
      ? {
          title: `Falló el pago de la factura ${p.invoiceNumber} de ${q(p.orgName)}`,
          body: `El pago de la factura ${p.invoiceNumber} (${p.amount}) de ${q(p.orgName)} falló y la suscripción está pendiente de pago. Revisa el método de pago o paga la factura por transferencia.`,
        }
      : {
          title: `Payment of invoice ${p.invoiceNumber} for ${q(p.orgName)} failed`,
          body: `The payment of invoice ${p.invoiceNumber} (${p.amount}) for ${q(p.orgName)} failed, and the subscription is past due. Check the payment method, or pay the invoice by bank transfer.`,
        },
  member_joined: (p, lang, q) =>
    lang === 'es'
      ? {
          title: `${p.who} se unió a ${q(p.orgName)}`,
          body: `${p.who} ahora es miembro de ${q(p.orgName)} con el rol ${q(p.roleName ?? '')}.`,
        }
      : {
          title: `${p.who} joined ${q(p.orgName)}`,
          body: `${p.who} is now a member of ${q(p.orgName)} with the ${q(p.roleName ?? '')} role.`,
        },
};

/** The notification as the console shows it. */
export function renderForConsole(type: string, params: NotificationParams, lang: Language): Rendered {
  const text = TEXTS[type as NotificationType];
  return text ? text(params, lang, consoleQuote) : { title: type, body: '' };
}

/** The notification as an email says it (the title is the subject). */
export function renderForEmail(type: string, params: NotificationParams, lang: Language): Rendered {
  const text = TEXTS[type as NotificationType];
  const rendered = text ? text(params, lang, emailQuote) : { title: type, body: '' };
  return { title: oneLine(rendered.title), body: rendered.body };
}

const FOOTER: Record<Language, (url: string) => string> = {
  en: (url) => `You get this email because of your notification preferences. Change them at ${url}`,
  es: (url) => `Recibes este correo por tus preferencias de notificaciones. Puedes cambiarlas en ${url}`,
};

/** Where a person changes their preferences in the console. */
export const preferencesUrl = (publicUrl: string, orgId: string) =>
  `${publicUrl}/orgs/${orgId}/settings/account/notifications`;

/** One notification, one email. */
export function immediateEmail(
  n: { type: string; params: NotificationParams; link: string | null; orgId: string },
  lang: Language,
  publicUrl: string,
): { subject: string; text: string } {
  const { title, body } = renderForEmail(n.type, n.params, lang);
  const open = lang === 'es' ? 'Ábrelo en' : 'Open it at';
  return {
    subject: title,
    text: `${body}\n\n${n.link ? `${open} ${publicUrl}${n.link}\n\n` : ''}-- \n${FOOTER[lang](preferencesUrl(publicUrl, n.orgId))}\n`,
  };
}

/** A period's notifications, one email. */
export function digestEmail(
  items: Array<{
    type: string;
    params: NotificationParams;
    link: string | null;
    orgId: string;
    createdAt: Date;
  }>,
  frequency: 'daily' | 'weekly',
  lang: Language,
  publicUrl: string,
): { subject: string; text: string } {
  const n = items.length;
  const subject =
    lang === 'es'
      ? `Tu resumen ${frequency === 'daily' ? 'diario' : 'semanal'} de Gatehouse: ${n} ${n === 1 ? 'notificación' : 'notificaciones'}`
      : `Your ${frequency} Gatehouse digest: ${n} ${n === 1 ? 'notification' : 'notifications'}`;
  const intro =
    lang === 'es'
      ? frequency === 'daily'
        ? 'Esto es lo que pasó hoy:'
        : 'Esto es lo que pasó esta semana:'
      : frequency === 'daily'
        ? 'Here is what happened today:'
        : 'Here is what happened this week:';
  const lines = items.map((item) => {
    const { title, body } = renderForEmail(item.type, item.params, lang);
    const when = `${item.createdAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    const first = body.split('\n')[0] ?? '';
    return `* ${title}\n  ${when}. ${first}${item.link ? `\n  ${publicUrl}${item.link}` : ''}`;
  });
  const firstOrg = items[0]?.orgId ?? '';
  return {
    subject,
    text: `${intro}\n\n${lines.join('\n\n')}\n\n-- \n${FOOTER[lang](preferencesUrl(publicUrl, firstOrg))}\n`,
  };
}

/** A critical alert by SMS: short, in the recipient's language. */
export function smsText(type: string, params: NotificationParams, lang: Language): string {
  const { title } = renderForEmail(type, params, lang);
  const text = `Gatehouse: ${title}`;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
