import { Anchor, Badge, Button, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams, useSearchParams } from 'react-router';
import { formatMoney, type InvoiceStatus, type InvoiceView } from '../../contracts/billing.ts';
import type { Page } from '../../contracts/wire.ts';
import { api } from '../api.ts';
import { ScrollFrame } from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { ErrorText } from '../problems.tsx';

/**
 * Settings → Invoices (billing:read): the organization's invoices, newest first, found by issue
 * date range and by number, plan or status (the filters live in the address, so a filtered view
 * can be shared), paged with Load more, each downloadable as its PDF.
 */

const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

/** AA-contrast colours: the light variant's text on its tint. */
const STATUS_COLOR: Record<InvoiceStatus, string> = {
  open: 'blue',
  paid: 'green',
  failed: 'red',
  void: 'gray',
};

export function InvoicesPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const allowed = can.has('billing:read');
  const f = useFormat();
  const [search, setSearch] = useSearchParams();
  const field = (name: string) => search.get(name) ?? '';
  const setField = (name: string, value: string) =>
    setSearch(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (value) next.set(name, value);
        else next.delete(name);
        return next;
      },
      { replace: true },
    );
  const [q] = useDebouncedValue(field('q').trim(), 300);
  const from = DATE.test(field('from')) ? field('from') : '';
  const to = DATE.test(field('to')) ? field('to') : '';
  const rangeBad = from !== '' && to !== '' && from > to;
  const params = new URLSearchParams({
    limit: '25',
    ...(q ? { q: q.slice(0, 100) } : {}),
    ...(rangeBad ? {} : { ...(from ? { from } : {}), ...(to ? { to } : {}) }),
  });
  const invoices = useInfiniteQuery({
    queryKey: ['invoices', orgId, params.toString()],
    queryFn: ({ pageParam }) =>
      api<Page<InvoiceView>>(
        'GET',
        `/orgs/${orgId}/billing/invoices?${params}${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`,
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    enabled: allowed,
  });
  // Periods are UTC days (a renewal starts at the instant the last period ended).
  const periodDay = useMemo(
    () => new Intl.DateTimeFormat(f.locale, { dateStyle: 'medium', timeZone: 'UTC' }),
    [f.locale],
  );
  const rows = invoices.data?.pages.flatMap((p) => p.items) ?? [];
  const filtered = ['q', 'from', 'to'].some((name) => search.has(name));

  if (!allowed) {
    return (
      <Stack>
        <Title order={1} size="h3">
          {t('invoicesTitle')}
        </Title>
        <Text>{t('invoicesNeedsPermission')}</Text>
      </Stack>
    );
  }

  return (
    <Stack maw={1040}>
      <Title order={1} size="h3">
        {t('invoicesTitle')}
      </Title>
      <Text size="sm">{t('invoicesIntro')}</Text>
      <Group align="flex-start" role="search" aria-label={t('invoicesFilters')}>
        <TextInput
          label={t('invoicesSearch')}
          placeholder={t('invoicesSearchPlaceholder')}
          value={field('q')}
          maxLength={100}
          onChange={(e) => setField('q', e.currentTarget.value)}
        />
        <TextInput
          type="date"
          label={t('invoicesFrom')}
          value={field('from')}
          onChange={(e) => setField('from', e.currentTarget.value)}
        />
        <TextInput
          type="date"
          label={t('invoicesTo')}
          value={field('to')}
          onChange={(e) => setField('to', e.currentTarget.value)}
          error={rangeBad ? t('invoicesRangeHelp') : undefined}
        />
        {filtered && (
          <Button
            variant="default"
            mt={24}
            onClick={() => setSearch(new URLSearchParams(), { replace: true })}
          >
            {t('invoicesClear')}
          </Button>
        )}
      </Group>
      {invoices.isPending && <Text role="status">{t('invoicesLoading')}</Text>}
      <ErrorText error={invoices.error} />
      {rows.length > 0 && (
        <ScrollFrame label={t('invoicesTable')} minWidth={720}>
          <Table striped highlightOnHover data-testid="invoices-table">
            <Table.Caption>{t('invoicesTable')}</Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t('invoicesNumber')}</Table.Th>
                <Table.Th scope="col">{t('invoicesIssued')}</Table.Th>
                <Table.Th scope="col">{t('invoicesPeriod')}</Table.Th>
                <Table.Th scope="col" style={{ textAlign: 'right' }}>
                  {t('invoicesTotal')}
                </Table.Th>
                <Table.Th scope="col">{t('invoicesStatus')}</Table.Th>
                <Table.Th scope="col">{t('invoicesPdf')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((invoice) => (
                <Table.Tr key={invoice.id} data-testid="invoice-row">
                  <Table.Td>
                    <Text fw={600} size="sm">
                      {invoice.displayNumber}
                    </Text>
                    <Text size="xs" c="gray.7">
                      {t(`invoicesReason_${invoice.reason}`)} · {invoice.plan}
                    </Text>
                  </Table.Td>
                  <Table.Td>{f.date(invoice.issuedAt)}</Table.Td>
                  <Table.Td>
                    {t('invoicesPeriodRange', {
                      from: periodDay.format(new Date(invoice.periodStart)),
                      to: periodDay.format(new Date(invoice.periodEnd)),
                    })}
                  </Table.Td>
                  <Table.Td style={{ textAlign: 'right', fontVariantNumeric: 'tabular-nums' }}>
                    {formatMoney(invoice.total, invoice.currency, f.locale)}
                  </Table.Td>
                  <Table.Td>
                    <Badge
                      variant="light"
                      color={STATUS_COLOR[invoice.status]}
                      c={`${STATUS_COLOR[invoice.status]}.9`}
                    >
                      {t(`invoiceStatus_${invoice.status}`)}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Anchor
                      href={invoice.pdfUrl}
                      download={`${invoice.displayNumber}.pdf`}
                      aria-label={t('invoicesDownload', { number: invoice.displayNumber })}
                    >
                      {t('invoicesPdf')}
                    </Anchor>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      {rows.length === 0 && invoices.isSuccess && (
        <Text c="gray.7" data-testid="invoices-empty">
          {filtered ? t('invoicesNoMatch') : t('invoicesEmpty')}
        </Text>
      )}
      {invoices.hasNextPage && (
        <Button
          variant="default"
          onClick={() => invoices.fetchNextPage()}
          loading={invoices.isFetchingNextPage}
        >
          {t('invoicesLoadMore')}
        </Button>
      )}
    </Stack>
  );
}
