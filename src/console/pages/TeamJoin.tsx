import {
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  NativeSelect,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { JoinLinkState, JoinRequest, Page } from '../../contracts/wire.ts';
import { api } from '../api.ts';
import { ConfirmDialog, RowDangerButton, ScrollFrame } from '../components.tsx';
import { useFormat } from '../format.ts';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';

/**
 * The org's share link: people who open it ask to join, and an admin approves each request. Only
 * its hash is kept, so the link itself is shown once, when it is created or rotated.
 */
export function JoinLinkSection({ orgId }: { orgId: string }) {
  const { t } = useTranslation();
  const { date } = useFormat();
  const client = useQueryClient();
  const [url, setUrl] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<'rotate' | 'disable' | null>(null);
  const state = useQuery({
    queryKey: ['join-link', orgId],
    queryFn: () => api<JoinLinkState>('GET', `/orgs/${orgId}/join-link`),
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['join-link', orgId] });
  const rotate = useMutation({
    mutationFn: () => api<{ url: string }>('POST', `/orgs/${orgId}/join-link`),
    onSuccess: async (res) => {
      setUrl(res.url);
      setConfirming(null);
      notify(t('teamJoinLinkCreated'));
      await refresh();
    },
  });
  const disable = useMutation({
    mutationFn: () => api('DELETE', `/orgs/${orgId}/join-link`),
    onSuccess: async () => {
      setUrl(null);
      setConfirming(null);
      notify(t('teamJoinLinkDisabled'));
      await refresh();
    },
  });
  const enabled = state.data?.enabled ?? false;
  return (
    <Stack component="section" aria-labelledby="join-link-title" gap="xs">
      <Title order={2} size="h4" id="join-link-title">
        {t('teamJoinLink')}
      </Title>
      <Text>{t('teamJoinLinkHelp')}</Text>
      {state.data && (
        <Text data-testid="join-link-state">
          {enabled ? t('teamJoinLinkOn', { date: date(state.data.createdAt) }) : t('teamJoinLinkOff')}
        </Text>
      )}
      {url && (
        <Stack gap={4}>
          <Text fw={600}>{t('teamJoinLinkOnce')}</Text>
          <Group gap="xs" wrap="nowrap">
            <Code data-testid="join-link-url" style={{ wordBreak: 'break-all' }}>
              {url}
            </Code>
            <CopyButton value={url}>
              {({ copied, copy }) => (
                <Button size="xs" variant="default" onClick={copy}>
                  {copied ? t('copied') : t('copy')}
                </Button>
              )}
            </CopyButton>
          </Group>
        </Stack>
      )}
      <ErrorText error={state.error ?? (confirming ? null : (rotate.error ?? disable.error))} />
      <Group>
        <Button
          variant="default"
          loading={rotate.isPending && !confirming}
          // Rotating a live link breaks it for everyone who has it: that asks first; a first link does not.
          onClick={() => (enabled ? setConfirming('rotate') : rotate.mutate())}
        >
          {enabled ? t('teamJoinLinkRotate') : t('teamJoinLinkCreate')}
        </Button>
        {enabled && (
          <Button variant="subtle" color="red" onClick={() => setConfirming('disable')}>
            {t('teamJoinLinkDisable')}
          </Button>
        )}
      </Group>
      <ConfirmDialog
        opened={confirming !== null}
        title={t(confirming === 'disable' ? 'teamJoinLinkDisableTitle' : 'teamJoinLinkRotateTitle')}
        message={t(confirming === 'disable' ? 'teamJoinLinkDisableConfirm' : 'teamJoinLinkRotateConfirm')}
        confirmLabel={t(confirming === 'disable' ? 'teamJoinLinkDisable' : 'teamJoinLinkRotate')}
        onCancel={() => {
          setConfirming(null);
          rotate.reset();
          disable.reset();
        }}
        onConfirm={() => (confirming === 'disable' ? disable.mutate() : rotate.mutate())}
        loading={rotate.isPending || disable.isPending}
        error={rotate.error ?? disable.error}
      />
    </Stack>
  );
}

/** Pending requests to join through the share link: approve each with a role, or deny it. */
export function JoinRequestsSection(props: {
  orgId: string;
  roles: Array<{ value: string; label: string }>;
  onApproved: () => unknown;
}) {
  const { t } = useTranslation();
  const { dateTime } = useFormat();
  const client = useQueryClient();
  const { orgId } = props;
  const [chosen, setChosen] = useState<Record<string, string>>({});
  const requests = useQuery({
    queryKey: ['join-requests', orgId],
    queryFn: () => api<Page<JoinRequest>>('GET', `/orgs/${orgId}/join-requests`),
  });
  const decide = useMutation({
    mutationFn: (v: { id: string; approve: boolean; role: string; email: string }) =>
      v.approve
        ? api('POST', `/orgs/${orgId}/join-requests/${v.id}/approve`, { role: v.role })
        : api('POST', `/orgs/${orgId}/join-requests/${v.id}/deny`),
    onSuccess: async (_res, v) => {
      notify(t(v.approve ? 'teamApproved' : 'teamDenied', { email: v.email }));
      await client.invalidateQueries({ queryKey: ['join-requests', orgId] });
      if (v.approve) await props.onApproved();
    },
  });
  const items = requests.data?.items ?? [];
  // The least-privileged built-in role is the starting choice; the admin picks another if needed.
  const fallback = props.roles.some((r) => r.value === 'viewer') ? 'viewer' : (props.roles[0]?.value ?? '');
  return (
    <Stack component="section" aria-labelledby="join-requests-title" gap="xs">
      <Group gap="xs">
        <Title order={2} size="h4" id="join-requests-title">
          {t('teamJoinRequests')}
        </Title>
        {items.length > 0 && <Badge variant="filled">{items.length}</Badge>}
      </Group>
      <ErrorText error={requests.error ?? decide.error} grantee />
      {items.length === 0 ? (
        <Text c="gray.7">{t('noItems')}</Text>
      ) : (
        <ScrollFrame label={t('teamJoinRequests')} minWidth={640}>
          <Table>
            <Table.Tbody>
              {items.map((r) => {
                const role = chosen[r.id] ?? fallback;
                return (
                  <Table.Tr key={r.id} data-testid={`join-request-${r.email}`}>
                    <Table.Td>{r.name}</Table.Td>
                    <Table.Td>{r.email}</Table.Td>
                    <Table.Td>{dateTime(r.createdAt)}</Table.Td>
                    <Table.Td>
                      <NativeSelect
                        aria-label={`${t('role')}: ${r.email}`}
                        data={props.roles}
                        value={role}
                        onChange={(e) => {
                          const value = e.currentTarget.value;
                          setChosen((c) => ({ ...c, [r.id]: value }));
                        }}
                      />
                    </Table.Td>
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        <Button
                          size="xs"
                          aria-label={`${t('teamApprove')}: ${r.email}`}
                          onClick={() => decide.mutate({ id: r.id, approve: true, role, email: r.email })}
                        >
                          {t('teamApprove')}
                        </Button>
                        <RowDangerButton
                          label={`${t('teamDeny')}: ${r.email}`}
                          onClick={() => decide.mutate({ id: r.id, approve: false, role, email: r.email })}
                        >
                          {t('teamDeny')}
                        </RowDangerButton>
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
    </Stack>
  );
}
