import { Button, Group, Stack, Text, TextInput } from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { PaymentMethodView } from '../../contracts/billing-subscription.ts';
import { api } from '../api.ts';
import { SettingCard } from '../components.tsx';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { subscriptionQuery } from './Billing.shared.ts';

const paymentQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['billing-payment-method', orgId],
    queryFn: () =>
      api<{ paymentMethod: PaymentMethodView | null }>('GET', `/orgs/${orgId}/billing/payment-method`),
  });

/**
 * The payment method (billing:manage): the provider's reference only. The built-in provider is
 * bank transfer against each invoice; the form has no card fields, and the server refuses anything
 * that looks like card data.
 */
export function PaymentMethodCard({ orgId }: { orgId: string }) {
  const { t } = useTranslation();
  const method = useQuery(paymentQuery(orgId));
  const [editing, setEditing] = useState(false);
  const current = method.data?.paymentMethod ?? null;
  return (
    <SettingCard title={t('billingPaymentCard')}>
      <ErrorText error={method.error} />
      {method.data && (
        <Text size="sm" data-testid="billing-payment-current">
          {current
            ? `${t(`billingPaymentProvider_${current.provider}`)}: ${
                current.last4
                  ? t('billingPaymentShown', {
                      brand: current.brand,
                      last4: current.last4,
                      reference: current.reference,
                    })
                  : t('billingPaymentShownNoDigits', { brand: current.brand, reference: current.reference })
              }`
            : t('billingPaymentNone')}
        </Text>
      )}
      {method.data && !editing && (
        <Group>
          <Button variant="default" onClick={() => setEditing(true)}>
            {t('billingPaymentEdit')}
          </Button>
        </Group>
      )}
      {method.data && editing && (
        <PaymentForm orgId={orgId} current={current} onDone={() => setEditing(false)} />
      )}
    </SettingCard>
  );
}

function PaymentForm({
  orgId,
  current,
  onDone,
}: {
  orgId: string;
  current: PaymentMethodView | null;
  onDone: () => void;
}) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [brand, setBrand] = useState(current?.brand ?? 'SEPA');
  const [reference, setReference] = useState(current?.reference ?? '');
  const [last4, setLast4] = useState(current?.last4 ?? '');
  const last4Ok = last4.trim() === '' || /^\d{4}$/.test(last4.trim());
  const body = {
    provider: 'invoice',
    brand: brand.trim(),
    reference: reference.trim(),
    last4: last4.trim() === '' ? null : last4.trim(),
  };
  const save = useMutation({
    mutationFn: () =>
      api<{ paymentMethod: PaymentMethodView }>('PUT', `/orgs/${orgId}/billing/payment-method`, body),
    onSuccess: async (saved) => {
      client.setQueryData(paymentQuery(orgId).queryKey, saved);
      await client.invalidateQueries({ queryKey: subscriptionQuery(orgId).queryKey });
      await client.invalidateQueries({ queryKey: ['setup', orgId] });
      notify(t('billingPaymentSaved'));
      onDone();
    },
  });
  const { byField, rest } = fieldErrors(t, save.error, ['brand', 'reference', 'last4'], { body });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (last4Ok) save.mutate();
  };
  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack gap="sm">
        <Text size="sm">{t('billingPaymentHelp')}</Text>
        <TextInput
          label={t('billingPaymentBrand')}
          description={t('billingPaymentBrandHelp')}
          value={brand}
          maxLength={40}
          required
          error={byField.brand}
          onChange={(e) => setBrand(e.currentTarget.value)}
          maw={360}
        />
        <TextInput
          label={t('billingPaymentReference')}
          description={t('billingPaymentReferenceHelp')}
          value={reference}
          maxLength={100}
          required
          error={byField.reference}
          onChange={(e) => setReference(e.currentTarget.value)}
          maw={480}
        />
        <TextInput
          label={t('billingPaymentLast4')}
          value={last4}
          inputMode="numeric"
          maxLength={4}
          error={!last4Ok ? t('billingPaymentLast4Invalid') : byField.last4}
          onChange={(e) => setLast4(e.currentTarget.value)}
          maw={200}
        />
        <ErrorText error={rest} />
        <Group>
          <Button type="submit" loading={save.isPending}>
            {t('billingPaymentSave')}
          </Button>
          <Button variant="default" onClick={onDone}>
            {t('billingPaymentCancel')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
