import { Anchor, Button, Group, Stack, Table, Text, Textarea, TextInput, Title } from '@mantine/core';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import type { ApplicationView } from '../../contracts/scans.ts';
import { ApiError, api } from '../api.ts';
import { ConfirmDialog, Dialog, LoadMore, PageLoader, RowDangerButton, ScrollFrame } from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { pagedQuery } from '../queries.ts';

/** What the server takes as a repository URL: http(s), a host, no credentials (checked before sending). */
function repositoryUrlOk(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.hostname !== '' &&
      !url.username &&
      !url.password
    );
  } catch {
    return false;
  }
}

/** Organization → Applications: the repositories and services scanned, added, edited and deleted. */
export function ApplicationsPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const when = useFormat().dateTime;
  const client = useQueryClient();
  const manage = can.has('applications:manage');
  const remove = can.has('applications:delete');
  const [editing, setEditing] = useState<ApplicationView | 'new' | null>(null);
  const [deleting, setDeleting] = useState<ApplicationView | null>(null);
  const list = useInfiniteQuery(
    pagedQuery<ApplicationView>(['applications', orgId, 'pages'], `/orgs/${orgId}/applications?limit=50`),
  );
  const rows = (list.data?.pages ?? []).flatMap((p) => p.items);
  // Scans and findings name applications too: a change here is a change there.
  const refresh = () =>
    client.invalidateQueries({
      predicate: (q) => ['applications', 'scans', 'findings'].includes(q.queryKey[0] as string),
    });
  const del = useMutation({
    mutationFn: (app: ApplicationView) => api('DELETE', `/orgs/${orgId}/applications/${app.id}`),
    onSuccess: async (_res, app) => {
      setDeleting(null);
      notify(t('appsDeletedNotice', { name: app.name }));
      await refresh();
    },
  });

  return (
    <Stack maw={1100}>
      <Group justify="space-between">
        <Title order={1} size="h3">
          {t('appsTitle')}
        </Title>
        {manage && <Button onClick={() => setEditing('new')}>{t('appsNew')}</Button>}
      </Group>
      <Text>{t('appsIntro')}</Text>
      {list.data && !manage && <Text fw={500}>{t('appsReadOnly')}</Text>}
      {list.data && manage && !remove && <Text size="sm">{t('appsNoDelete')}</Text>}
      <ErrorText error={list.error} />
      {list.isPending ? (
        <PageLoader />
      ) : rows.length === 0 ? (
        list.data && <Text c="gray.7">{manage ? t('appsNoneCreate') : t('appsNone')}</Text>
      ) : (
        <ScrollFrame label={t('appsList')} minWidth={820}>
          <Table striped data-testid="applications-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('appsName')}</Table.Th>
                <Table.Th>{t('appsRepositoryUrl')}</Table.Th>
                <Table.Th>{t('appsDescription')}</Table.Th>
                <Table.Th>{t('appsCreated')}</Table.Th>
                <Table.Th>{t('actions')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((app) => (
                <Table.Tr key={app.id} data-testid={`application-${app.name}`}>
                  <Table.Th scope="row" fw={600}>
                    {app.name}
                  </Table.Th>
                  <Table.Td style={{ wordBreak: 'break-all' }}>
                    {app.repositoryUrl ? (
                      <Anchor href={app.repositoryUrl} target="_blank" rel="noopener noreferrer">
                        {app.repositoryUrl}
                      </Anchor>
                    ) : (
                      '—'
                    )}
                  </Table.Td>
                  <Table.Td>{app.description || '—'}</Table.Td>
                  <Table.Td>{when(app.createdAt)}</Table.Td>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      <Button
                        size="xs"
                        variant="default"
                        component={Link}
                        to={`/orgs/${orgId}/settings/scans?applicationId=${app.id}`}
                        aria-label={t('appsScansLabel', { name: app.name })}
                      >
                        {t('appsScans')}
                      </Button>
                      {manage && (
                        <Button
                          size="xs"
                          variant="default"
                          aria-label={t('appsEditLabel', { name: app.name })}
                          onClick={() => setEditing(app)}
                        >
                          {t('appsEdit')}
                        </Button>
                      )}
                      {remove && (
                        <RowDangerButton
                          label={t('appsDeleteLabel', { name: app.name })}
                          onClick={() => setDeleting(app)}
                        >
                          {t('appsDelete')}
                        </RowDangerButton>
                      )}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      <Group>
        <LoadMore list={list} />
      </Group>
      {manage && (
        <ApplicationDialog
          key={editing === null ? 'closed' : editing === 'new' ? 'new' : editing.id}
          orgId={orgId}
          editing={editing}
          onClose={() => setEditing(null)}
          onSaved={async (app, created) => {
            setEditing(null);
            notify(t(created ? 'appsCreatedNotice' : 'appsUpdatedNotice', { name: app.name }));
            await refresh();
          }}
        />
      )}
      <ConfirmDialog
        opened={deleting !== null}
        title={t('appsDeleteTitle', { name: deleting?.name ?? '' })}
        message={t('appsDeleteConfirm', { name: deleting?.name ?? '' })}
        confirmLabel={t('appsDeleteAction')}
        onCancel={() => {
          setDeleting(null);
          del.reset();
        }}
        onConfirm={() => deleting && del.mutate(deleting)}
        loading={del.isPending}
        error={del.error}
      />
    </Stack>
  );
}

/** Add an application, or change one's name, repository URL or description. */
function ApplicationDialog(props: {
  orgId: string;
  editing: ApplicationView | 'new' | null;
  onClose: () => void;
  onSaved: (app: ApplicationView, created: boolean) => unknown;
}) {
  const { t } = useTranslation();
  const existing = props.editing !== null && props.editing !== 'new' ? props.editing : null;
  const [name, setName] = useState(existing?.name ?? '');
  const [repositoryUrl, setRepositoryUrl] = useState(existing?.repositoryUrl ?? '');
  const [description, setDescription] = useState(existing?.description ?? '');
  const [checked, setChecked] = useState(false);
  const body = {
    name: name.trim(),
    repositoryUrl: repositoryUrl.trim() || null,
    description: description.trim() || null,
  };
  const save = useMutation({
    mutationFn: () =>
      existing
        ? api<ApplicationView>('PATCH', `/orgs/${props.orgId}/applications/${existing.id}`, body)
        : api<ApplicationView>('POST', `/orgs/${props.orgId}/applications`, body),
    onSuccess: (app) => props.onSaved(app, existing === null),
  });
  const taken =
    save.error instanceof ApiError && save.error.code === 'conflict' && save.error.params.field === 'name';
  const { byField, rest } = fieldErrors(
    t,
    taken ? null : save.error,
    ['name', 'repositoryUrl', 'description'],
    {
      rules: { repositoryUrl: t('appsRepositoryUrlInvalid') },
    },
  );
  const urlProblem =
    checked && body.repositoryUrl !== null && !repositoryUrlOk(body.repositoryUrl)
      ? t('appsRepositoryUrlInvalid')
      : undefined;
  return (
    <Dialog
      opened={props.editing !== null}
      onClose={props.onClose}
      title={existing ? t('appsEditTitle', { name: existing.name }) : t('appsNewTitle')}
    >
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setChecked(true);
          if (body.repositoryUrl === null || repositoryUrlOk(body.repositoryUrl)) save.mutate();
        }}
      >
        <Stack>
          <TextInput
            label={t('appsName')}
            description={t('appsNameHelp')}
            required
            maxLength={100}
            value={name}
            error={taken ? t('appsNameTaken') : byField.name}
            onChange={(e) => setName(e.currentTarget.value)}
          />
          <TextInput
            label={t('appsRepositoryUrl')}
            description={t('appsRepositoryUrlHelp')}
            type="url"
            maxLength={2048}
            value={repositoryUrl}
            error={urlProblem ?? byField.repositoryUrl}
            onChange={(e) => setRepositoryUrl(e.currentTarget.value)}
          />
          <Textarea
            label={t('appsDescription')}
            maxLength={2000}
            autosize
            minRows={2}
            value={description}
            error={byField.description}
            onChange={(e) => setDescription(e.currentTarget.value)}
          />
          <ErrorText error={rest} />
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              {t('cancel')}
            </Button>
            <Button type="submit" loading={save.isPending}>
              {existing ? t('appsSave') : t('appsAdd')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Dialog>
  );
}
