import {
  Button,
  Group,
  Loader,
  MultiSelect,
  NativeSelect,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { FINDING_SEVERITIES } from '../../contracts/findings.ts';
import { SCAN_MODULES } from '../../contracts/scans.ts';
import type { Page, PolicyView } from '../../contracts/wire.ts';
import { ApiError, api } from '../api.ts';
import { ConfirmDialog, Dialog, DialogActions, RowDangerButton, ScrollFrame } from '../components.tsx';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';

/**
 * Settings → Organization → Policies: the org's security policies (which scans fail), created and
 * edited in a dialog, deleted after a confirmation. Without policies:manage the list is read-only.
 */

interface Draft {
  name: string;
  description: string;
  failOn: PolicyView['failOn'];
  modules: string[];
  applicationIds: string[];
}

const EMPTY: Draft = { name: '', description: '', failOn: 'high', modules: [], applicationIds: [] };

function PolicyDialog({
  orgId,
  editing,
  applications,
  onClose,
}: {
  orgId: string;
  editing: PolicyView | null;
  applications: { value: string; label: string }[] | null;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [draft, setDraft] = useState<Draft>(
    editing
      ? {
          name: editing.name,
          description: editing.description ?? '',
          failOn: editing.failOn,
          modules: editing.modules,
          applicationIds: editing.applicationIds,
        }
      : EMPTY,
  );
  const save = useMutation({
    mutationFn: () => {
      const body = {
        name: draft.name.trim(),
        description: draft.description.trim() || null,
        failOn: draft.failOn,
        modules: draft.modules,
        ...(applications ? { applicationIds: draft.applicationIds } : {}),
      };
      return editing
        ? api<PolicyView>('PATCH', `/orgs/${orgId}/policies/${editing.id}`, body)
        : api<PolicyView>('POST', `/orgs/${orgId}/policies`, body);
    },
    onSuccess: async (policy) => {
      notify(t(editing ? 'policySaved' : 'policyCreated', { name: policy.name }));
      await client.invalidateQueries({ queryKey: ['policies', orgId] });
      onClose();
    },
  });
  const { byField, rest } = fieldErrors(t, save.error, ['name', 'description', 'failOn', 'modules']);
  const taken = save.error instanceof ApiError && save.error.code === 'conflict';
  const set = (patch: Partial<Draft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    if (!save.isPending) save.reset();
  };
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    save.mutate();
  };
  return (
    <Dialog
      opened
      onClose={onClose}
      title={editing ? t('policyEditTitle', { name: editing.name }) : t('policyCreateTitle')}
    >
      <form noValidate onSubmit={submit}>
        <Stack>
          <TextInput
            label={t('policyName')}
            required
            maxLength={100}
            data-autofocus
            value={draft.name}
            error={taken ? t('policyNameTaken') : byField.name}
            onChange={(e) => set({ name: e.currentTarget.value })}
          />
          <Textarea
            label={t('policyDescription')}
            maxLength={1000}
            autosize
            minRows={2}
            value={draft.description}
            error={byField.description}
            onChange={(e) => set({ description: e.currentTarget.value })}
          />
          <NativeSelect
            label={t('policyFailOn')}
            description={t('policyFailOnHelp')}
            value={draft.failOn}
            data={FINDING_SEVERITIES.map((s) => ({ value: s, label: t(`policyFailOn_${s}`) }))}
            onChange={(e) => set({ failOn: e.currentTarget.value as Draft['failOn'] })}
          />
          <MultiSelect
            label={t('policyModules')}
            description={t('policyModulesHelp')}
            placeholder={draft.modules.length === 0 ? t('policyAllModules') : undefined}
            data={SCAN_MODULES.map((m) => ({ value: m, label: t(`module_${m}`) }))}
            value={draft.modules}
            error={byField.modules}
            onChange={(modules) => set({ modules })}
          />
          {applications ? (
            <MultiSelect
              label={t('policyApplications')}
              description={t('policyApplicationsHelp')}
              placeholder={draft.applicationIds.length === 0 ? t('policyAllApplications') : undefined}
              data={applications}
              searchable
              value={draft.applicationIds}
              error={fieldErrors(t, save.error, ['applicationIds']).byField.applicationIds}
              onChange={(applicationIds) => set({ applicationIds })}
            />
          ) : (
            <Text size="sm">{t('policyApplicationsUnavailable')}</Text>
          )}
          <ErrorText error={taken ? null : rest} />
          <DialogActions
            onCancel={onClose}
            onConfirm={() => submit()}
            label={t('policySave')}
            color="blue"
            loading={save.isPending}
          />
        </Stack>
      </form>
    </Dialog>
  );
}

export function PoliciesPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const manage = can.has('policies:manage');
  const client = useQueryClient();
  const [dialog, setDialog] = useState<{ editing: PolicyView | null } | null>(null);
  const [deleting, setDeleting] = useState<PolicyView | null>(null);
  const list = useQuery({
    queryKey: ['policies', orgId],
    queryFn: () => api<Page<PolicyView>>('GET', `/orgs/${orgId}/policies?limit=200`),
  });
  // Applications name the policies' scope; their list is another module's and may be absent (an
  // older server) or refused: the page then shows ids and leaves the scope as it is.
  const apps = useQuery({
    queryKey: ['applications', orgId, 'names'],
    queryFn: () => api<Page<{ id: string; name: string }>>('GET', `/orgs/${orgId}/applications?limit=200`),
    enabled: can.has('applications:read'),
    retry: false,
  });
  const applications = apps.data ? apps.data.items.map((a) => ({ value: a.id, label: a.name })) : null;
  const appName = (id: string) => applications?.find((a) => a.value === id)?.label ?? id;
  const remove = useMutation({
    mutationFn: (p: PolicyView) => api('DELETE', `/orgs/${orgId}/policies/${p.id}`),
    onSuccess: async (_res, p) => {
      setDeleting(null);
      notify(t('policyDeleted', { name: p.name }));
      await client.invalidateQueries({ queryKey: ['policies', orgId] });
    },
  });
  const rows = list.data?.items ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h3">
          {t('policiesTitle')}
        </Title>
        {manage && <Button onClick={() => setDialog({ editing: null })}>{t('policyCreate')}</Button>}
      </Group>
      <Text>{t('policiesIntro')}</Text>
      {!manage && <Text>{t('policiesReadOnly')}</Text>}
      <ErrorText error={list.error} />
      {list.isPending ? (
        <Loader aria-label={t('policiesTitle')} size="sm" />
      ) : rows.length === 0 ? (
        <Text c="gray.7">{t('policiesNone')}</Text>
      ) : (
        <ScrollFrame label={t('policiesTitle')} minWidth={640}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('policyName')}</Table.Th>
                <Table.Th>{t('policyFailOn')}</Table.Th>
                <Table.Th>{t('policyModules')}</Table.Th>
                <Table.Th>{t('policyApplications')}</Table.Th>
                {manage && (
                  <Table.Th>
                    <VisuallyHidden>{t('action')}</VisuallyHidden>
                  </Table.Th>
                )}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((p) => (
                <Table.Tr key={p.id} data-testid={`policy-${p.id}`}>
                  <Table.Td>
                    <Text size="sm" fw={500}>
                      {p.name}
                    </Text>
                    {p.description && (
                      <Text size="xs" c="gray.7">
                        {p.description}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{t(`policyFailOn_${p.failOn}`)}</Table.Td>
                  <Table.Td>
                    {p.modules.length === 0
                      ? t('policyAllModules')
                      : p.modules.map((m) => t(`module_${m}`)).join(', ')}
                  </Table.Td>
                  <Table.Td>
                    {p.applicationIds.length === 0
                      ? t('policyAllApplications')
                      : p.applicationIds.map(appName).join(', ')}
                  </Table.Td>
                  {manage && (
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        <Button
                          size="xs"
                          variant="subtle"
                          aria-label={t('policyEditLabel', { name: p.name })}
                          onClick={() => setDialog({ editing: p })}
                        >
                          {t('policyEdit')}
                        </Button>
                        <RowDangerButton
                          label={t('policyDeleteLabel', { name: p.name })}
                          onClick={() => {
                            remove.reset();
                            setDeleting(p);
                          }}
                        >
                          {t('policyDelete')}
                        </RowDangerButton>
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      {dialog && (
        <PolicyDialog
          orgId={orgId}
          editing={dialog.editing}
          applications={applications}
          onClose={() => setDialog(null)}
        />
      )}
      <ConfirmDialog
        opened={deleting !== null}
        onCancel={() => setDeleting(null)}
        title={t('policyDeleteTitle', { name: deleting?.name ?? '' })}
        message={t('policyDeleteConfirm')}
        confirmLabel={t('policyDelete')}
        loading={remove.isPending}
        error={remove.error}
        onConfirm={() => deleting && remove.mutate(deleting)}
      />
    </Stack>
  );
}
