import { queryOptions } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { SubscriptionView } from '../../contracts/billing-subscription.ts';
import { entitlements } from '../../contracts/plans.ts';
import { api } from '../api.ts';

/** What the Billing page's sections share: the subscription query, money and plan names. */

export const subscriptionQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['billing-subscription', orgId],
    queryFn: () => api<SubscriptionView>('GET', `/orgs/${orgId}/billing/subscription`),
  });

/** Minor units of `currency` in the reader's language. */
export function useMoney() {
  const { i18n } = useTranslation();
  return (minor: number, currency = 'usd') =>
    new Intl.NumberFormat(i18n.language, { style: 'currency', currency: currency.toUpperCase() }).format(
      minor / 100,
    );
}

export const planName = (plan: string) => entitlements(plan).name;
