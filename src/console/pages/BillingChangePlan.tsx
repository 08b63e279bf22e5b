import {
  Alert,
  Anchor,
  Button,
  Group,
  List,
  Radio,
  SegmentedControl,
  Stack,
  Table,
  Text,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { BILLING_CYCLES, type BillingCycle, PLAN_PRICES } from '../../contracts/billing.ts';
import type {
  PlanBlockerView,
  PlanChangeView,
  SubscriptionView,
} from '../../contracts/billing-subscription.ts';
import { PLANS, type Plan } from '../../contracts/plans.ts';
import { ApiError, api } from '../api.ts';
import { Dialog } from '../components.tsx';
import { useFormat } from '../format.ts';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';
import { planName, subscriptionQuery, useMoney } from './Billing.shared.ts';

/** Where each thing a plan change is blocked by is put right. */
const BLOCKER_PAGE: Record<PlanBlockerView['kind'], string> = {
  members: 'team',
  custom_roles: 'team',
  scim_tokens: 'scim',
  ip_allowlist: 'security',
  session_timeout: 'security',
  budgets: 'usage',
};

const PLAN_RANK: Record<Plan, number> = { free: 0, pro: 1, enterprise: 2 };

/**
 * Change plan: pick a plan and a cycle, review what it costs (the server's preview: credits and
 * charges for the rest of the period, due today, the new recurring amount), then confirm. A
 * refusal because the org uses more than the new plan allows lists what to change, with links.
 */
export function ChangePlanDialog({
  orgId,
  sub,
  onClose,
}: {
  orgId: string;
  sub: SubscriptionView;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const money = useMoney();
  const client = useQueryClient();
  const operator = sub.planSelection === 'operator';
  const [plan, setPlan] = useState<Plan>(sub.plan);
  const [cycle, setCycle] = useState<BillingCycle>(sub.cycle);
  const preview = useMutation({
    mutationFn: () => api<PlanChangeView>('PATCH', `/orgs/${orgId}/billing/subscription`, { plan, cycle }),
  });
  const confirm = useMutation({
    mutationFn: () =>
      api<PlanChangeView>('PATCH', `/orgs/${orgId}/billing/subscription`, { plan, cycle, confirm: true }),
    onSuccess: async (done) => {
      await client.invalidateQueries({ queryKey: subscriptionQuery(orgId).queryKey });
      // The plan decides what other pages offer (and the org's entitlements in the shell).
      await client.invalidateQueries();
      const words = { plan: planName(done.to.plan), cycle: t(`billingCycle_${done.to.cycle}`).toLowerCase() };
      notify(
        done.invoice
          ? t('billingChangedInvoice', {
              ...words,
              number: done.invoice.number,
              amount: money(done.invoice.total),
            })
          : t('billingChanged', words),
      );
      onClose();
    },
  });
  const reset = () => {
    preview.reset();
    confirm.reset();
  };
  const quote = preview.data;
  const error = confirm.error ?? preview.error;
  const blockers =
    error instanceof ApiError && error.code === 'plan_limit' && Array.isArray(error.params.blockers)
      ? (error.params.blockers as PlanBlockerView[])
      : null;
  const direction = PLAN_RANK[plan] - PLAN_RANK[sub.plan];
  const confirmLabel =
    direction > 0
      ? t('billingConfirmUpgrade')
      : direction < 0
        ? t('billingConfirmDowngrade')
        : t('billingConfirmChange');
  return (
    <Dialog opened onClose={onClose} title={t('billingDialogTitle')} size="lg">
      {!quote ? (
        <Stack>
          <Radio.Group
            label={t('billingPickPlan')}
            value={plan}
            onChange={(v) => {
              setPlan(v as Plan);
              reset();
            }}
            description={operator ? t('billingPlanOperator') : undefined}
          >
            <Stack gap="xs" mt="xs">
              {PLANS.map((p) => {
                const price = PLAN_PRICES[p];
                return (
                  <Radio
                    key={p}
                    value={p}
                    disabled={operator && p !== sub.plan}
                    label={
                      price
                        ? t('billingPlanOption', { name: planName(p), price: money(price.seatMonthly) })
                        : t('billingPlanFree', { name: planName(p) })
                    }
                  />
                );
              })}
            </Stack>
          </Radio.Group>
          <Stack gap={4}>
            <Text size="sm" fw={500} id="billing-cycle-label">
              {t('billingPickCycle')}
            </Text>
            <SegmentedControl
              aria-labelledby="billing-cycle-label"
              value={cycle}
              onChange={(v) => {
                setCycle(v as BillingCycle);
                reset();
              }}
              data={BILLING_CYCLES.map((c) => ({ value: c, label: t(`billingCycle_${c}`) }))}
            />
          </Stack>
          {blockers ? (
            <Blockers orgId={orgId} plan={plan} blockers={blockers} />
          ) : (
            <ErrorText error={error} />
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              {t('cancel')}
            </Button>
            <Button onClick={() => preview.mutate()} loading={preview.isPending}>
              {t('billingReview')}
            </Button>
          </Group>
        </Stack>
      ) : (
        <Review
          quote={quote}
          confirmLabel={confirmLabel}
          blockers={blockers ? <Blockers orgId={orgId} plan={plan} blockers={blockers} /> : null}
          error={blockers ? null : confirm.error}
          confirming={confirm.isPending}
          onBack={reset}
          onConfirm={() => confirm.mutate()}
        />
      )}
    </Dialog>
  );
}

function Review(props: {
  quote: PlanChangeView;
  confirmLabel: string;
  blockers: ReactNode;
  error: unknown;
  confirming: boolean;
  onBack: () => void;
  onConfirm: () => void;
}) {
  const { quote } = props;
  const { t } = useTranslation();
  const money = useMoney();
  const format = useFormat();
  const cur = quote.currency;
  const name = (side: PlanChangeView['from']) =>
    `${planName(side.plan)} (${t(`billingCycle_${side.cycle}`)})`;
  return (
    <Stack data-testid="billing-review">
      <Text fw={600}>{t('billingReviewTitle', { from: name(quote.from), to: name(quote.to) })}</Text>
      {!quote.changed && <Text size="sm">{t('billingSame')}</Text>}
      {quote.changed && quote.lines.length === 0 && <Text size="sm">{t('billingLinesNone')}</Text>}
      {quote.lines.length > 0 && (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('billingLine')}</Table.Th>
              <Table.Th ta="right">{t('billingLineAmount')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {quote.lines.map((line) => (
              <Table.Tr key={line.description}>
                <Table.Td>{line.description}</Table.Td>
                <Table.Td ta="right">{money(line.amount, cur)}</Table.Td>
              </Table.Tr>
            ))}
            {quote.creditApplied > 0 && (
              <Table.Tr>
                <Table.Td>{t('billingCreditApplied')}</Table.Td>
                <Table.Td ta="right">{money(-quote.creditApplied, cur)}</Table.Td>
              </Table.Tr>
            )}
          </Table.Tbody>
        </Table>
      )}
      <Table variant="vertical" withTableBorder>
        <Table.Tbody>
          <Table.Tr>
            <Table.Th>{t('billingDueToday')}</Table.Th>
            <Table.Td data-testid="billing-due">{money(quote.amountDue, cur)}</Table.Td>
          </Table.Tr>
          {quote.creditBalance > 0 && (
            <Table.Tr>
              <Table.Th>{t('billingCreditAfter')}</Table.Th>
              <Table.Td>{money(quote.creditBalance, cur)}</Table.Td>
            </Table.Tr>
          )}
          <Table.Tr>
            <Table.Th>{t('billingNewRecurring')}</Table.Th>
            <Table.Td>
              {t(`billingPerCycle_${quote.to.cycle}`, { amount: money(quote.recurringAmount, cur) })}
            </Table.Td>
          </Table.Tr>
          <Table.Tr>
            <Table.Th>{t('billingEffective')}</Table.Th>
            <Table.Td>{t('billingEffectiveToday', { date: format.date(quote.effectiveDate) })}</Table.Td>
          </Table.Tr>
          <Table.Tr>
            <Table.Th>{t('billingNextBilling')}</Table.Th>
            <Table.Td>
              {quote.nextBillingDate ? format.date(quote.nextBillingDate) : t('billingNextNone')}
            </Table.Td>
          </Table.Tr>
        </Table.Tbody>
      </Table>
      {quote.amountDue > 0 && <Text size="sm">{t('billingInvoiceNote')}</Text>}
      {props.blockers}
      <ErrorText error={props.error} />
      <Group justify="flex-end">
        <Button variant="default" onClick={props.onBack}>
          {t('billingBack')}
        </Button>
        <Button onClick={props.onConfirm} loading={props.confirming} disabled={!quote.changed}>
          {props.confirmLabel}
        </Button>
      </Group>
    </Stack>
  );
}

function Blockers({ orgId, plan, blockers }: { orgId: string; plan: Plan; blockers: PlanBlockerView[] }) {
  const { t } = useTranslation();
  return (
    <Alert color="red" title={t('billingBlockedTitle')} role="alert" data-testid="billing-blockers">
      <Stack gap="xs">
        <Text size="sm">{t('billingBlockedIntro', { plan: planName(plan) })}</Text>
        <List size="sm" spacing={4}>
          {blockers.map((b) => {
            const what = t(`billingBlocker_${b.kind}`, { count: b.count, limit: b.limit ?? 0 });
            return (
              <List.Item key={b.kind} data-blocker={b.kind}>
                {what}{' '}
                <Anchor
                  component={Link}
                  to={`/orgs/${orgId}/settings/${BLOCKER_PAGE[b.kind]}`}
                  aria-label={t('billingBlockerFixOf', { what })}
                  size="sm"
                  c="inherit"
                  underline="always"
                >
                  {t('billingBlockerFix')}
                </Anchor>
              </List.Item>
            );
          })}
        </List>
      </Stack>
    </Alert>
  );
}
