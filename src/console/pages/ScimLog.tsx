import { Button, Group, Stack, Table, Text } from '@mantine/core';
import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { ScimLogEntry } from '../../contracts/scim.ts';
import { LoadMore, PageLoader, ScrollFrame, Section } from '../components.tsx';
import { useFormat } from '../format.ts';
import { ErrorText } from '../problems.tsx';
import { pagedQuery } from '../queries.ts';

/** Where the SCIM page's reads are cached: the tokens (`…, 'tokens'`) and the log (`…, 'log'`). */
export const scimKey = (orgId: string) => ['scim', orgId];

/**
 * The identity provider's SCIM requests, newest first, a page at a time, with what each was
 * answered and, for a refusal, why. Refresh reads the tokens again too: the same requests move
 * their last use.
 */
export function ScimLogSection({ orgId }: { orgId: string }) {
  const { t } = useTranslation();
  const when = useFormat().dateTime;
  const client = useQueryClient();
  const list = useInfiniteQuery(
    pagedQuery<ScimLogEntry>([...scimKey(orgId), 'log'], `/orgs/${orgId}/scim-log?limit=50`),
  );
  // Entries carry no id; a row has nothing of its own to keep, so its place names it.
  const rows = (list.data?.pages ?? []).flatMap((p, page) =>
    p.items.map((entry, i) => ({ ...entry, key: `${page}.${i}` })),
  );
  return (
    <Section title={t('scimLogTitle')} testId="scim-log">
      <Group justify="space-between" align="flex-start" wrap="nowrap">
        <Text size="sm">{t('scimLogHelp')}</Text>
        <Button
          variant="default"
          size="xs"
          loading={list.isRefetching}
          onClick={() => client.invalidateQueries({ queryKey: scimKey(orgId) })}
        >
          {t('scimLogRefresh')}
        </Button>
      </Group>
      <ErrorText error={list.error} />
      {list.isPending ? (
        <PageLoader label={t('scimLogTitle')} />
      ) : rows.length === 0 ? (
        <Text c="gray.7">{t('scimLogNone')}</Text>
      ) : (
        <ScrollFrame label={t('scimLogTitle')} minWidth={720}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('time')}</Table.Th>
                <Table.Th>{t('scimLogMethod')}</Table.Th>
                <Table.Th>{t('scimLogPath')}</Table.Th>
                <Table.Th>{t('status')}</Table.Th>
                <Table.Th>{t('scimLogError')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((e) => (
                <Table.Tr key={e.key} data-testid="scim-log-entry">
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>{when(e.at)}</Table.Td>
                  <Table.Td>
                    <Text size="sm" ff="monospace">
                      {e.method}
                    </Text>
                  </Table.Td>
                  <Table.Td maw={320}>
                    <Text size="sm" ff="monospace" style={{ wordBreak: 'break-all' }}>
                      {e.path}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" fw={600} c={e.status < 400 ? '#1b5e20' : 'red.9'}>
                      {e.status}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{e.error ?? ''}</Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      <Stack align="flex-start">
        <LoadMore list={list} />
      </Stack>
    </Section>
  );
}
