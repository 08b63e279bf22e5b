import { Alert, Button, Group, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import type { SubscriptionView } from '../../contracts/billing-subscription.ts';
import { PageLoader, SettingCard } from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { ErrorText } from '../problems.tsx';
import { planName, subscriptionQuery, useMoney } from './Billing.shared.ts';
import { ChangePlanDialog } from './BillingChangePlan.tsx';
import { PaymentMethodCard } from './BillingPaymentMethod.tsx';

/**
 * Settings → Billing: the subscription (plan, cycle, seats, next billing date, what the next
 * renewal costs, what annual billing saves), a plan change reviewed before it is confirmed, and the
 * payment method. Seen with billing:read; changed with billing:manage. The invoices have a page of
 * their own.
 */

export function BillingPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const mayRead = can.has('billing:read');
  const mayManage = can.has('billing:manage');
  const sub = useQuery({ ...subscriptionQuery(orgId), enabled: mayRead });
  return (
    <Stack maw={960}>
      <Title order={1} size="h3">
        {t('billingTitle')}
      </Title>
      {!mayRead && <Text>{t('billingNeedsRead')}</Text>}
      {mayRead && sub.isPending && !sub.error && <PageLoader label={t('billingLoading')} />}
      <ErrorText error={sub.error} />
      {sub.data && (
        <>
          {sub.data.status === 'past_due' && (
            <Alert color="red" title={t('billingPastDueTitle')} data-testid="billing-past-due">
              {t('billingPastDue')}
            </Alert>
          )}
          <PlanCard orgId={orgId} sub={sub.data} mayManage={mayManage} />
          {mayManage ? <PaymentMethodCard orgId={orgId} /> : <Text size="sm">{t('billingNeedsManage')}</Text>}
        </>
      )}
    </Stack>
  );
}

function Fact({ label, value, help }: { label: string; value: string; help?: string }) {
  return (
    <Stack gap={0}>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text fw={600}>{value}</Text>
      {help && (
        <Text size="xs" c="dimmed">
          {help}
        </Text>
      )}
    </Stack>
  );
}

function PlanCard({ orgId, sub, mayManage }: { orgId: string; sub: SubscriptionView; mayManage: boolean }) {
  const { t } = useTranslation();
  const money = useMoney();
  const format = useFormat();
  const [open, setOpen] = useState(false);
  const operator = sub.planSelection === 'operator';
  return (
    <SettingCard title={t('billingPlanCard')}>
      <div data-testid="billing-plan">
        <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }}>
          <Fact label={t('billingPlan')} value={planName(sub.plan)} />
          <Fact label={t('billingCycle')} value={t(`billingCycle_${sub.cycle}`)} />
          <Fact label={t('billingSeats')} value={String(sub.seats)} help={t('billingSeatsHelp')} />
          <Fact
            label={t('billingNextDate')}
            value={sub.nextBillingDate ? format.date(sub.nextBillingDate) : t('billingNextNone')}
          />
        </SimpleGrid>
      </div>
      {sub.amount > 0 && (
        <Text size="sm">
          {t('billingAmount')}:{' '}
          {t(`billingPerCycle_${sub.cycle}`, { amount: money(sub.amount, sub.currency) })}
        </Text>
      )}
      {sub.annualSavings > 0 && (
        <Text size="sm" data-testid="billing-savings">
          {sub.cycle === 'monthly'
            ? t('billingSaveAnnual', { amount: money(sub.annualSavings, sub.currency) })
            : t('billingSavingAnnual', { amount: money(sub.annualSavings, sub.currency) })}
        </Text>
      )}
      {sub.creditBalance > 0 && (
        <Text size="sm">{t('billingCredit', { amount: money(sub.creditBalance, sub.currency) })}</Text>
      )}
      {operator && <Text size="sm">{t('billingOperatorMode')}</Text>}
      {mayManage ? (
        <Group>
          <Button onClick={() => setOpen(true)}>
            {operator ? t('billingChangeCycle') : t('billingChange')}
          </Button>
        </Group>
      ) : (
        <Text size="sm">{t('billingNeedsManage')}</Text>
      )}
      {open && <ChangePlanDialog orgId={orgId} sub={sub} onClose={() => setOpen(false)} />}
    </SettingCard>
  );
}
