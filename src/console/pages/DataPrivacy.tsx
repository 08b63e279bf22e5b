import { Anchor, Badge, Button, Group, Progress, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import {
  type DataSettingsView,
  type ExportStatus,
  type OrgExportView,
  SCAN_RETENTION_MAX_DAYS,
  SCAN_RETENTION_MIN_DAYS,
} from '../../contracts/data.ts';
import type { Page } from '../../contracts/wire.ts';
import { api } from '../api.ts';
import { ScrollFrame, Section } from '../components.tsx';
import { type Formats, useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';

/**
 * Settings → Data & Privacy: how long scan results are kept (read-only without settings:update),
 * the export of everything the organization holds (with org:export: ask, watch it being prepared,
 * download it), and what deleting the organization does to its data (the deletion itself stays in
 * Profile → Danger zone, linked from here).
 */

const dataSettingsQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['data-settings', orgId],
    queryFn: () => api<DataSettingsView>('GET', `/orgs/${orgId}/settings/data`),
  });

const exportsQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['exports', orgId],
    queryFn: () => api<Page<OrgExportView>>('GET', `/orgs/${orgId}/exports?limit=20`),
    // Asked again every second while one is being prepared, to show it advance.
    refetchInterval: (query) =>
      query.state.data?.items.some((e) => e.status === 'pending' || e.status === 'running') ? 1000 : false,
  });

export function DataPrivacyPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const settings = useQuery(dataSettingsQuery(orgId));
  return (
    <Stack maw={960}>
      <Title order={1} size="h3">
        {t('dataTitle')}
      </Title>
      {settings.isPending && !settings.error && <Text role="status">{t('dataLoading')}</Text>}
      <ErrorText error={settings.error} />
      {settings.data && (
        <RetentionSection
          key={settings.data.scanRetentionDays}
          orgId={orgId}
          saved={settings.data}
          canEdit={can.has('settings:update')}
        />
      )}
      <ExportSection orgId={orgId} canExport={can.has('org:export')} />
      {settings.data && (
        <Section title={t('dataDeletion')} testId="data-deletion">
          <Text size="sm">{t('dataDeletionHelp', { days: settings.data.deletedOrgGraceDays })}</Text>
          {can.has('org:delete') ? (
            <Group>
              <Anchor component={Link} to={`/orgs/${orgId}/settings/profile#danger-zone`} size="sm">
                {t('dataDeletionGo')}
              </Anchor>
            </Group>
          ) : (
            <Text size="sm">{t('dataDeletionOwnerOnly')}</Text>
          )}
        </Section>
      )}
    </Stack>
  );
}

/** Roughly how long a number of days is, in words (a hint beside the number). */
function roughly(t: (key: string, options?: Record<string, unknown>) => string, days: number): string {
  return days >= 360
    ? t('dataRetentionYears', { count: Math.round((days / 365) * 10) / 10 })
    : t('dataRetentionMonths', { count: Math.max(1, Math.round(days / 30)) });
}

function RetentionSection(props: { orgId: string; saved: DataSettingsView; canEdit: boolean }) {
  const { orgId, saved, canEdit } = props;
  const { t } = useTranslation();
  const client = useQueryClient();
  const [typed, setTyped] = useState(String(saved.scanRetentionDays));
  const value = /^\d+$/.test(typed.trim()) ? Number(typed.trim()) : undefined;
  const inRange = value !== undefined && value >= SCAN_RETENTION_MIN_DAYS && value <= SCAN_RETENTION_MAX_DAYS;
  const save = useMutation({
    mutationFn: (scanRetentionDays: number) =>
      api<DataSettingsView>('PATCH', `/orgs/${orgId}/settings/data`, { scanRetentionDays }),
    onSuccess: (updated) => {
      client.setQueryData(dataSettingsQuery(orgId).queryKey, updated);
      notify(t('dataRetentionSaved', { days: updated.scanRetentionDays }));
    },
  });
  const { byField, rest } = fieldErrors(t, save.error, ['scanRetentionDays'], {
    body: save.variables === undefined ? undefined : { scanRetentionDays: save.variables },
  });
  const [tried, setTried] = useState(false);
  const localError = tried && !inRange ? t('dataRetentionInvalid') : undefined;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (canEdit && inRange && value !== saved.scanRetentionDays) save.mutate(value);
  };
  return (
    <Section title={t('dataRetention')} testId="data-retention">
      <Text size="sm">{t('dataRetentionHelp')}</Text>
      {!canEdit && <Text size="sm">{t('dataRetentionReadOnly')}</Text>}
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          <TextInput
            label={t('dataRetentionDays')}
            description={`${t('dataRetentionRange')}${inRange && value !== undefined ? ` ${roughly(t, value)}.` : ''}`}
            inputMode="numeric"
            maw={360}
            readOnly={!canEdit}
            variant={canEdit ? 'default' : 'filled'}
            value={typed}
            error={localError ?? byField.scanRetentionDays}
            onChange={(e) => {
              setTyped(e.currentTarget.value);
              setTried(false);
              if (save.error) save.reset();
            }}
          />
          <ErrorText error={rest} />
          {canEdit && (
            <Group>
              <Button type="submit" disabled={value === saved.scanRetentionDays} loading={save.isPending}>
                {t('dataRetentionSave')}
              </Button>
            </Group>
          )}
        </Stack>
      </form>
    </Section>
  );
}

// Dark enough for white text at a badge's size (WCAG AA).
const STATUS_COLORS: Record<ExportStatus, string> = {
  pending: 'gray.8',
  running: 'blue.9',
  ready: '#166534',
  failed: '#b91c1c',
};

function size(t: (key: string, options?: Record<string, unknown>) => string, format: Formats, bytes: number) {
  return bytes < 1024 * 1024
    ? t('dataSizeKb', { size: format.number(Math.max(1, Math.round(bytes / 1024))) })
    : t('dataSizeMb', { size: format.number(Math.round((bytes / (1024 * 1024)) * 10) / 10) });
}

function ExportSection({ orgId, canExport }: { orgId: string; canExport: boolean }) {
  const { t } = useTranslation();
  const format = useFormat();
  const client = useQueryClient();
  const exports = useQuery({ ...exportsQuery(orgId), enabled: canExport });
  const start = useMutation({
    mutationFn: () => api<OrgExportView>('POST', `/orgs/${orgId}/exports`),
    onSuccess: async () => {
      notify(t('dataExportStarted'));
      await client.invalidateQueries({ queryKey: exportsQuery(orgId).queryKey });
    },
  });
  const items = exports.data?.items ?? [];
  const underWay = items.find((e) => e.status === 'pending' || e.status === 'running');
  return (
    <Section title={t('dataExport')} testId="data-export">
      <Text size="sm">{t('dataExportHelp')}</Text>
      {!canExport ? (
        <Text size="sm">{t('dataExportNeedsPermission')}</Text>
      ) : (
        <>
          <Group>
            <Button
              onClick={() => start.mutate()}
              loading={start.isPending}
              disabled={underWay !== undefined}
            >
              {t('dataExportStart')}
            </Button>
          </Group>
          <ErrorText error={start.error ?? exports.error} />
          {underWay && (
            <Stack gap={4} role="status">
              <Text size="sm">{t('dataExportProgress', { percent: underWay.progress ?? 0 })}</Text>
              <Progress
                value={underWay.progress ?? 0}
                animated
                aria-label={t('dataExportProgress', { percent: underWay.progress ?? 0 })}
              />
            </Stack>
          )}
          <Title order={3} size="h5">
            {t('dataExportRecent')}
          </Title>
          {exports.isSuccess && items.length === 0 ? (
            <Text size="sm">{t('dataExportNone')}</Text>
          ) : (
            <ScrollFrame label={t('dataExportTable')} minWidth={720}>
              <Table>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>{t('dataExportRequested')}</Table.Th>
                    <Table.Th>{t('dataExportBy')}</Table.Th>
                    <Table.Th>{t('dataExportStatus')}</Table.Th>
                    <Table.Th>{t('dataExportSize')}</Table.Th>
                    <Table.Th>{t('dataExportAvailableUntil')}</Table.Th>
                    <Table.Th>{t('actions')}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {items.map((e) => (
                    <Table.Tr key={e.id} data-export-id={e.id} data-status={e.status}>
                      <Table.Td>{format.dateTime(e.createdAt)}</Table.Td>
                      <Table.Td>
                        {e.requestedBy ? (e.requestedBy.email ?? e.requestedBy.id) : t('dataExportToken')}
                      </Table.Td>
                      <Table.Td>
                        <Badge maw="none" color={STATUS_COLORS[e.status]} c="white" variant="filled">
                          {t(`dataExportStatus_${e.status}`)}
                        </Badge>
                        {e.status === 'failed' && <Text size="xs">{t('dataExportFailedHelp')}</Text>}
                      </Table.Td>
                      <Table.Td>{e.sizeBytes !== undefined ? size(t, format, e.sizeBytes) : ''}</Table.Td>
                      <Table.Td>{e.status === 'ready' ? format.dateTime(e.expiresAt) : ''}</Table.Td>
                      <Table.Td>
                        {e.status === 'ready' && e.downloadUrl && (
                          <Anchor
                            href={e.downloadUrl}
                            download
                            size="sm"
                            aria-label={t('dataExportDownloadOf', { date: format.dateTime(e.createdAt) })}
                          >
                            {t('dataExportDownload')}
                          </Anchor>
                        )}
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </ScrollFrame>
          )}
        </>
      )}
    </Section>
  );
}
