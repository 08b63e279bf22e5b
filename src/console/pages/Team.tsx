import {
  Button,
  Group,
  NativeSelect,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { memo, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api, type Invitation, type Member, type Page } from '../api.ts';
import { useCatalogWords } from '../catalog-words.ts';
import { ConfirmDialog, Dialog, RowDangerButton, ScrollFrame } from '../components.tsx';
import { useFormat } from '../format.ts';
import { useMe, usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { MEMBERS_PAGE, membersQuery, rolesQuery } from '../queries.ts';
import { SetupChecklist } from './SetupChecklist.tsx';
import classes from './Team.module.css';
import { JoinLinkSection, JoinRequestsSection } from './TeamJoin.tsx';

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
  const [role, setRole] = useState('');
  const [status, setStatus] = useState('');
  const [inviting, setInviting] = useState(false);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [cancelling, setCancelling] = useState<Invitation | null>(null);
  const catalog = useCatalogWords();
  const { date } = useFormat();

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
  // Member counts per role (the Roles page) change with the members too.
  const refresh = () =>
    client.invalidateQueries({
      predicate: (x) => ['members', 'invitations', 'roles'].includes(x.queryKey[0] as string),
    });
  const changeRole = useMutation({
    mutationFn: (v: { userId: string; role: string; email: string }) =>
      api('PATCH', `/orgs/${orgId}/members/${v.userId}`, { role: v.role }),
    onSuccess: async (_res, v) => {
      notify(t('teamRoleChanged', { email: v.email, role: roleLabel(v.role) }));
      await refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (m: Member) => api('DELETE', `/orgs/${orgId}/members/${m.userId}`),
    onSuccess: async (_res, m) => {
      setRemoving(null);
      notify(t('teamRemoved', { name: m.name }));
      await refresh();
    },
  });
  const inviteAction = useMutation({
    mutationFn: (v: { invitation: Invitation; action: 'resend' | 'cancel' }) =>
      v.action === 'resend'
        ? api('POST', `/orgs/${orgId}/invitations/${v.invitation.id}/resend`)
        : api('DELETE', `/orgs/${orgId}/invitations/${v.invitation.id}`),
    onSuccess: async (_res, v) => {
      if (v.action === 'cancel') setCancelling(null);
      notify(
        t(v.action === 'resend' ? 'teamInviteResent' : 'teamInviteCancelled', { email: v.invitation.email }),
      );
      await refresh();
    },
  });
  const roleOptions = useMemo(
    () => (roles.data?.items ?? []).map((r) => ({ value: r.slug, label: catalog.roleName(r.slug, r.name) })),
    [roles.data, catalog],
  );
  const manage = can.has('members:manage');
  const roleLabel = (slug: string) => roleOptions.find((o) => o.value === slug)?.label ?? slug;

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h3">
          {t('members')}
        </Title>
        {manage && <Button onClick={() => setInviting(true)}>{t('invite')}</Button>}
      </Group>
      <SetupChecklist orgId={orgId} />
      <Group>
        <TextInput
          aria-label={t('search')}
          placeholder={t('search')}
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
        />
        <NativeSelect
          aria-label={t('role')}
          data={[{ value: '', label: t('anyRole') }, ...roleOptions]}
          value={role}
          onChange={(e) => setRole(e.currentTarget.value)}
        />
        <NativeSelect
          aria-label={t('status')}
          value={status}
          onChange={(e) => setStatus(e.currentTarget.value)}
          data={[
            { value: '', label: t('anyStatus') },
            ...['active', 'inactive', 'removed'].map((s) => ({ value: s, label: t(s) })),
          ]}
        />
      </Group>
      <ErrorText
        error={members.error ?? changeRole.error ?? (cancelling ? null : inviteAction.error)}
        grantee
      />
      <ScrollFrame label={t('members')} minWidth={720}>
        <table className={classes.table}>
          <thead>
            <tr>
              <th>{t('name')}</th>
              <th>{t('email')}</th>
              <th>{t('role')}</th>
              <th>{t('status')}</th>
              <th>{t('joined')}</th>
              <th>{t('lastActive')}</th>
              {manage && (
                <th>
                  <VisuallyHidden>{t('actions')}</VisuallyHidden>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {rows.map((m) => (
              <MemberRow
                // A new role from the server starts the row afresh (its pending choice included).
                key={`${m.userId}:${m.role}`}
                member={m}
                manage={manage}
                self={m.userId === me.data?.user.id}
                roleOptions={roleOptions}
                date={date}
                onRole={changeRole.mutate}
                onRemove={setRemoving}
              />
            ))}
          </tbody>
        </table>
      </ScrollFrame>
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
            <ScrollFrame label={t('pendingInvites')} minWidth={560}>
              <Table>
                <Table.Tbody>
                  {(invitations.data?.items ?? []).map((i) => (
                    <Table.Tr key={i.id}>
                      <Table.Td>{i.email}</Table.Td>
                      <Table.Td>{roleOptions.find((o) => o.value === i.role)?.label ?? i.role}</Table.Td>
                      <Table.Td>{t(i.status)}</Table.Td>
                      <Table.Td>
                        {t('expires')} {date(i.expiresAt)}
                      </Table.Td>
                      <Table.Td>
                        <Group gap="xs">
                          <Button
                            size="xs"
                            variant="default"
                            aria-label={`${t('resend')}: ${i.email}`}
                            onClick={() => inviteAction.mutate({ invitation: i, action: 'resend' })}
                          >
                            {t('resend')}
                          </Button>
                          <RowDangerButton
                            label={`${t('teamCancelInvite')}: ${i.email}`}
                            onClick={() => setCancelling(i)}
                          >
                            {t('cancel')}
                          </RowDangerButton>
                        </Group>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </ScrollFrame>
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
      <ConfirmDialog
        opened={removing !== null}
        title={t('teamRemoveTitle', { name: removing?.name ?? '' })}
        message={t('confirmRemove', { name: removing?.name ?? '' })}
        confirmLabel={t('remove')}
        onCancel={() => {
          setRemoving(null);
          remove.reset();
        }}
        onConfirm={() => removing && remove.mutate(removing)}
        loading={remove.isPending}
        error={remove.error}
      />
      <ConfirmDialog
        opened={cancelling !== null}
        title={t('teamCancelInviteTitle')}
        message={t('teamCancelInviteConfirm', { email: cancelling?.email ?? '' })}
        confirmLabel={t('teamCancelInvite')}
        onCancel={() => {
          setCancelling(null);
          inviteAction.reset();
        }}
        onConfirm={() => cancelling && inviteAction.mutate({ invitation: cancelling, action: 'cancel' })}
        loading={inviteAction.isPending}
        error={cancelling ? inviteAction.error : null}
      />
    </Stack>
  );
}

/**
 * One member's row, in plain elements and memoized: the page re-renders as its other data arrives
 * (invitations, requests), and 50 rows of components would each time be most of the work.
 */
const MemberRow = memo(function MemberRow(props: {
  member: Member;
  manage: boolean;
  self: boolean;
  roleOptions: Array<{ value: string; label: string }>;
  date: (iso: string | null) => string;
  onRole: (v: { userId: string; role: string; email: string }) => void;
  onRemove: (m: Member) => void;
}) {
  const { t } = useTranslation();
  const { member: m, manage, date } = props;
  const editable = manage && !props.self && m.status !== 'removed';
  const [choice, setChoice] = useState(m.role);
  return (
    <tr data-testid={`member-${m.email}`}>
      <td>
        {/* The member's page: their tokens and what they did. */}
        <Link to={m.userId}>{m.name || m.email}</Link>
      </td>
      <td>{m.email}</td>
      <td>
        {editable ? (
          // The new role applies on "Change", not on selection: arrowing through a closed select
          // fires a change per step in some browsers, and each would be a real role change.
          <form
            className={classes.roleForm}
            onSubmit={(e) => {
              e.preventDefault();
              if (choice !== m.role) props.onRole({ userId: m.userId, role: choice, email: m.email });
            }}
          >
            <select
              className={classes.select}
              aria-label={`${t('role')}: ${m.email}`}
              value={choice}
              onChange={(e) => setChoice(e.currentTarget.value)}
            >
              {props.roleOptions.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
            {choice !== m.role && (
              <button type="submit" className={classes.apply} aria-label={`${t('changeRole')}: ${m.email}`}>
                {t('changeRole')}
              </button>
            )}
          </form>
        ) : (
          (props.roleOptions.find((o) => o.value === m.role)?.label ?? m.role)
        )}
      </td>
      <td>
        <span className={classes.badge}>{t(m.status)}</span>
      </td>
      <td>{date(m.joinedAt)}</td>
      <td>{date(m.lastActiveAt) || t('never')}</td>
      {manage && (
        <td>
          {editable && (
            <button
              type="button"
              className={classes.remove}
              aria-label={`${t('remove')}: ${m.email}`}
              onClick={() => props.onRemove(m)}
            >
              {t('remove')}
            </button>
          )}
        </td>
      )}
    </tr>
  );
});

function InviteDialog(props: {
  orgId: string;
  opened: boolean;
  onClose: () => void;
  roles: Array<{ value: string; label: string }>;
  onDone: () => unknown;
}) {
  const { t } = useTranslation();
  const [emails, setEmails] = useState('');
  const [role, setRole] = useState('developer');
  const send = useMutation({
    mutationFn: (body: { emails: string[]; role: string }) =>
      api('POST', `/orgs/${props.orgId}/invitations`, body),
    onSuccess: async (_res, body) => {
      setEmails('');
      setRole('developer');
      props.onClose();
      notify(t('teamInvited', { count: body.emails.length }));
      await props.onDone();
    },
  });
  const { byField, rest } = fieldErrors(t, send.error, ['emails', 'role'], { body: send.variables });
  const close = () => {
    send.reset();
    props.onClose();
  };
  return (
    <Dialog opened={props.opened} onClose={close} title={t('invite')}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          send.mutate({
            emails: emails
              .split(/[,\s]+/)
              .map((e) => e.trim())
              .filter(Boolean),
            role,
          });
        }}
      >
        <Stack>
          <Textarea
            label={t('emails')}
            description={t('inviteHelp')}
            required
            value={emails}
            error={byField.emails}
            onChange={(e) => setEmails(e.currentTarget.value)}
          />
          <NativeSelect
            label={t('role')}
            data={props.roles}
            value={role}
            error={byField.role}
            onChange={(e) => setRole(e.currentTarget.value)}
          />
          <ErrorText error={rest} feature="maxMembers" />
          <Button type="submit" loading={send.isPending}>
            {t('send')}
          </Button>
        </Stack>
      </form>
    </Dialog>
  );
}
