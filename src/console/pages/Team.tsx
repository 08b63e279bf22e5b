import {
  Badge,
  Button,
  Group,
  Modal,
  NativeSelect,
  Select,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { ErrorText, useMe, usePermissions } from '../App.tsx';
import { api, type Invitation, type Member, type Page } from '../api.ts';
import { MEMBERS_PAGE, membersQuery, rolesQuery } from '../queries.ts';
import { JoinLinkSection, JoinRequestsSection } from './TeamJoin.tsx';

const date = (iso: string | null) => (iso ? new Date(iso).toLocaleDateString() : null);

/** Settings → Organization → Team: members, invitations, role changes and removal. */
export function TeamPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const me = useMe();
  const can = usePermissions(orgId);
  const client = useQueryClient();
  const [search, setSearch] = useState('');
  // The list follows the search box once typing pauses, not on every keystroke.
  const [q] = useDebouncedValue(search.trim(), 250);
  const [role, setRole] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [inviting, setInviting] = useState(false);
  const [removing, setRemoving] = useState<Member | null>(null);

  const roles = useQuery(rolesQuery(orgId));
  const params = new URLSearchParams({
    limit: MEMBERS_PAGE,
    ...(q ? { q } : {}),
    ...(role ? { role } : {}),
    ...(status ? { status } : {}),
  });
  const members = useInfiniteQuery(membersQuery(orgId, params));
  const rows = members.data?.pages.flatMap((p) => p.items) ?? [];
  const invitations = useQuery({
    queryKey: ['invitations', orgId],
    queryFn: () => api<Page<Invitation>>('GET', `/orgs/${orgId}/invitations`),
    enabled: can.has('members:manage'),
  });
  const refresh = () =>
    client.invalidateQueries({
      predicate: (x) => ['members', 'invitations'].includes(x.queryKey[0] as string),
    });
  const changeRole = useMutation({
    mutationFn: (v: { userId: string; role: string }) =>
      api('PATCH', `/orgs/${orgId}/members/${v.userId}`, { role: v.role }),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (userId: string) => api('DELETE', `/orgs/${orgId}/members/${userId}`),
    onSuccess: async () => {
      setRemoving(null);
      await refresh();
    },
  });
  const inviteAction = useMutation({
    mutationFn: (v: { id: string; action: 'resend' | 'cancel' }) =>
      v.action === 'resend'
        ? api('POST', `/orgs/${orgId}/invitations/${v.id}/resend`)
        : api('DELETE', `/orgs/${orgId}/invitations/${v.id}`),
    onSuccess: refresh,
  });
  const roleOptions = (roles.data?.items ?? []).map((r) => ({ value: r.slug, label: r.name }));
  const manage = can.has('members:manage');

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h3">
          {t('members')}
        </Title>
        {manage && <Button onClick={() => setInviting(true)}>{t('invite')}</Button>}
      </Group>
      <Group>
        <TextInput
          aria-label={t('search')}
          placeholder={t('search')}
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
        />
        <Select
          aria-label={t('role')}
          placeholder={t('anyRole')}
          data={roleOptions}
          value={role}
          onChange={setRole}
          clearable
        />
        <Select
          aria-label={t('status')}
          placeholder={t('anyStatus')}
          value={status}
          onChange={setStatus}
          clearable
          data={['active', 'inactive', 'removed'].map((s) => ({ value: s, label: t(s) }))}
        />
      </Group>
      <ErrorText error={members.error ?? changeRole.error ?? inviteAction.error} />
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('name')}</Table.Th>
            <Table.Th>{t('email')}</Table.Th>
            <Table.Th>{t('role')}</Table.Th>
            <Table.Th>{t('status')}</Table.Th>
            <Table.Th>{t('joined')}</Table.Th>
            <Table.Th>{t('lastActive')}</Table.Th>
            {manage && <Table.Th />}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((m) => (
            <Table.Tr key={m.userId} data-testid={`member-${m.email}`}>
              <Table.Td>{m.name}</Table.Td>
              <Table.Td>{m.email}</Table.Td>
              <Table.Td>
                {manage && m.userId !== me.data?.user.id && m.status !== 'removed' ? (
                  // A native select per row: a page of members stays light to render.
                  <NativeSelect
                    aria-label={`${t('role')}: ${m.email}`}
                    data={roleOptions}
                    value={m.role}
                    onChange={(e) => {
                      const v = e.currentTarget.value;
                      if (v !== m.role) changeRole.mutate({ userId: m.userId, role: v });
                    }}
                  />
                ) : (
                  m.role
                )}
              </Table.Td>
              <Table.Td>
                <Badge variant="light">{t(m.status)}</Badge>
              </Table.Td>
              <Table.Td>{date(m.joinedAt)}</Table.Td>
              <Table.Td>{date(m.lastActiveAt) ?? t('never')}</Table.Td>
              {manage && (
                <Table.Td>
                  {m.userId !== me.data?.user.id && m.status !== 'removed' && (
                    <Button variant="subtle" color="red" onClick={() => setRemoving(m)}>
                      {t('remove')}
                    </Button>
                  )}
                </Table.Td>
              )}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {members.hasNextPage && (
        <Button
          variant="default"
          onClick={() => members.fetchNextPage()}
          loading={members.isFetchingNextPage}
        >
          {t('loadMore')}
        </Button>
      )}

      {manage && (
        <>
          <Title order={2} size="h4">
            {t('pendingInvites')}
          </Title>
          {(invitations.data?.items ?? []).length === 0 ? (
            <Text c="gray.7">{t('noItems')}</Text>
          ) : (
            <Table>
              <Table.Tbody>
                {(invitations.data?.items ?? []).map((i) => (
                  <Table.Tr key={i.id}>
                    <Table.Td>{i.email}</Table.Td>
                    <Table.Td>{i.role}</Table.Td>
                    <Table.Td>{t(i.status)}</Table.Td>
                    <Table.Td>
                      {t('expires')} {date(i.expiresAt)}
                    </Table.Td>
                    <Table.Td>
                      <Group gap="xs">
                        <Button
                          size="xs"
                          variant="default"
                          onClick={() => inviteAction.mutate({ id: i.id, action: 'resend' })}
                        >
                          {t('resend')}
                        </Button>
                        <Button
                          size="xs"
                          variant="subtle"
                          color="red"
                          onClick={() => inviteAction.mutate({ id: i.id, action: 'cancel' })}
                        >
                          {t('cancel')}
                        </Button>
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </>
      )}

      {manage && (
        <>
          <JoinRequestsSection orgId={orgId} roles={roleOptions} onApproved={refresh} />
          <JoinLinkSection orgId={orgId} />
        </>
      )}

      <InviteDialog
        orgId={orgId}
        opened={inviting}
        onClose={() => setInviting(false)}
        roles={roleOptions}
        onDone={refresh}
      />
      <Modal
        closeButtonProps={{ 'aria-label': t('close') }}
        opened={removing !== null}
        onClose={() => setRemoving(null)}
        title={t('remove')}
      >
        <Stack>
          <Text>{t('confirmRemove', { name: removing?.name ?? '' })}</Text>
          <ErrorText error={remove.error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setRemoving(null)}>
              {t('cancel')}
            </Button>
            <Button
              color="red"
              loading={remove.isPending}
              onClick={() => removing && remove.mutate(removing.userId)}
            >
              {t('confirm')}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

function InviteDialog(props: {
  orgId: string;
  opened: boolean;
  onClose: () => void;
  roles: Array<{ value: string; label: string }>;
  onDone: () => unknown;
}) {
  const { t } = useTranslation();
  const [emails, setEmails] = useState('');
  const [role, setRole] = useState<string | null>('developer');
  const send = useMutation({
    mutationFn: () =>
      api('POST', `/orgs/${props.orgId}/invitations`, {
        emails: emails
          .split(/[,\s]+/)
          .map((e) => e.trim())
          .filter(Boolean),
        role,
      }),
    onSuccess: async () => {
      setEmails('');
      props.onClose();
      await props.onDone();
    },
  });
  return (
    <Modal
      closeButtonProps={{ 'aria-label': t('close') }}
      opened={props.opened}
      onClose={props.onClose}
      title={t('invite')}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          send.mutate();
        }}
      >
        <Stack>
          <Textarea
            label={t('emails')}
            description={t('inviteHelp')}
            required
            value={emails}
            onChange={(e) => setEmails(e.currentTarget.value)}
          />
          <Select
            label={t('role')}
            data={props.roles}
            value={role}
            onChange={setRole}
            allowDeselect={false}
          />
          <ErrorText error={send.error} />
          <Button type="submit" loading={send.isPending}>
            {t('send')}
          </Button>
        </Stack>
      </form>
    </Modal>
  );
}
