import { orgAccess } from '../../platform/access/guard.ts';
import { defineCommand } from '../../platform/command.ts';
import { ValidationError } from '../../platform/errors/app-error.ts';
import {
  lockSubscription,
  type SubscriptionRow,
  upsertSubscription,
} from './billing.subscription.repository.ts';

/** Payment providers this installation knows; `invoice` (bank transfer against an invoice) is built in. */
export const PAYMENT_PROVIDERS = ['invoice'] as const;
export type PaymentProvider = (typeof PAYMENT_PROVIDERS)[number];

/** A payment method as stored and shown: the provider's reference only, never card data. */
export interface PaymentMethod {
  provider: string;
  /** The provider's label for it: a bank mandate or account label. */
  reference: string;
  /** "SEPA", "ACH", "Visa"…: what it is, in the provider's words. */
  brand: string;
  /** The last four digits of the account (an IBAN's, a card's): never more. */
  last4: string | null;
  expMonth: number | null;
  expYear: number | null;
}

export interface PaymentMethodInput {
  provider: PaymentProvider;
  reference: string;
  brand: string;
  last4?: string | null;
  expMonth?: number | null;
  expYear?: number | null;
}

export function presentPaymentMethod(row: SubscriptionRow | undefined): PaymentMethod | null {
  if (!row?.paymentProvider) return null;
  return {
    provider: row.paymentProvider,
    reference: row.paymentReference ?? '',
    brand: row.paymentBrand ?? '',
    last4: row.paymentLast4,
    expMonth: row.paymentExpMonth,
    expYear: row.paymentExpYear,
  };
}

/** Names that only card data goes by. */
const CARD_FIELD =
  /^(cvc|cvv|cvv2|cvc2|cvn|csc|cid|security_?code|card_?number|cardnumber|pan|card_?verification.*)$/i;
/**
 * 12 to 19 digits in a row: a card number's shape. The digits may be of any script (fullwidth
 * `４１１１`, Arabic-Indic `٤١١١`…) and split by anything that is not a letter or a digit (spaces,
 * dashes, dots, slashes, underscores; up to three at a time), as people paste them.
 */
const DIGIT_RUN = /\p{Nd}(?:[^\p{L}\p{Nd}]{0,3}\p{Nd}){11,18}/u;
/** How deep a body is looked into: deeper than any payment method, and never a stack overflow. */
const MAX_DEPTH = 16;

/**
 * Finds anything in a payment-method body that looks like card data, before the schema is
 * applied (so a `cvc` field is named as card data, not as an unknown field): a field called like
 * a card's security code or number, or a run of 12–19 digits in any value. Answers 400 naming
 * the fields; the values are never echoed or logged.
 */
export function refuseCardData(body: unknown): void {
  const errors: { field: string; message: string; reason: string }[] = [];
  const walk = (value: unknown, pointer: string, depth = 0) => {
    if (depth > MAX_DEPTH) return;
    if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
        const field = `${pointer}/${key}`;
        if (CARD_FIELD.test(key.replace(/-/g, '_'))) {
          errors.push({
            field,
            message: 'Card data is never sent to Gatehouse: give the payment provider’s reference instead.',
            reason: 'card_data',
          });
        } else walk(inner, field, depth + 1);
      }
      return;
    }
    if ((typeof value === 'string' || typeof value === 'number') && DIGIT_RUN.test(String(value))) {
      errors.push({
        field: pointer,
        message:
          'This looks like a card number: Gatehouse stores only the provider’s reference and the last four digits.',
        reason: 'card_data',
      });
    }
  };
  walk(body, '/body');
  if (errors.length > 0) throw new ValidationError(errors, 'Card data is never accepted; nothing was saved.');
}

export const updatePaymentMethod = defineCommand({
  action: 'payment_method.updated',
  permission: 'billing:manage',
  async run(ctx, input: PaymentMethodInput) {
    const { orgId, orgName } = orgAccess(ctx);
    const current = await lockSubscription(ctx.tx, orgId);
    const before = presentPaymentMethod(current);
    const next: PaymentMethod = {
      provider: input.provider,
      reference: input.reference,
      brand: input.brand,
      last4: input.last4 ?? null,
      expMonth: input.expMonth ?? null,
      expYear: input.expYear ?? null,
    };
    if (before && JSON.stringify(before) === JSON.stringify(next)) {
      ctx.unchanged();
      return before;
    }
    const row = await upsertSubscription(ctx.tx, orgId, {
      paymentProvider: next.provider,
      paymentReference: next.reference,
      paymentBrand: next.brand,
      paymentLast4: next.last4,
      paymentExpMonth: next.expMonth,
      paymentExpYear: next.expYear,
    });
    // The log says what kind of method and its last four, never the reference or anything more.
    ctx.record({
      target: { type: 'payment_method', id: orgId, name: orgName },
      before: before ? { provider: before.provider, brand: before.brand, last4: before.last4 } : null,
      after: { provider: next.provider, brand: next.brand, last4: next.last4 },
    });
    return presentPaymentMethod(row)!;
  },
});
