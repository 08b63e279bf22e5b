import { Button, Card, Group, PasswordInput, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import type { Member, Organization } from '../../contracts/wire.ts';
import { api } from '../api.ts';
import { ConfirmDialog } from '../components.tsx';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { forgetOrg, membersQuery } from '../queries.ts';

/** The organization's danger zone, for its owner: transfer ownership, delete the organization. */

export function DangerZone(props: { org: Organization; canTransfer: boolean; canDelete: boolean }) {
  const { t } = useTranslation();
  const headingId = useId();
  const ref = useRef<HTMLElement>(null);
  // Linked to from elsewhere (Data & Privacy → Deleting the organization): shown at once.
  useEffect(() => {
    if (window.location.hash === '#danger-zone') ref.current?.scrollIntoView();
  }, []);
  return (
    <Card
      ref={ref}
      withBorder
      component="section"
      id="danger-zone"
      aria-labelledby={headingId}
      style={{ borderColor: 'var(--mantine-color-red-7)' }}
    >
      <Stack gap="lg">
        <Title order={2} size="h4" id={headingId} c="red.9">
          {t('profileDanger')}
        </Title>
        {props.canTransfer && <TransferOwnership org={props.org} />}
        {props.canDelete && <DeleteOrganization org={props.org} />}
      </Stack>
    </Card>
  );
}

function TransferOwnership({ org }: { org: Organization }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const headingId = useId();
  // Only an Admin can become owner (the server refuses anyone else with 409).
  const admins = useInfiniteQuery(membersQuery(org.id, new URLSearchParams({ role: 'admin', limit: '200' })));
  const rows = admins.data?.pages.flatMap((p) => p.items) ?? [];
  const [userId, setUserId] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const target = rows.find((m) => m.userId === userId) ?? null;
  const transfer = useMutation({
    mutationFn: (to: Member) =>
      api<{ ownerId: string; previousOwnerId: string }>('POST', `/orgs/${org.id}/ownership-transfer`, {
        userId: to.userId,
      }),
    onSuccess: async (_res, to) => {
      setConfirming(false);
      notify(t('profileTransferred', { name: to.name }));
      // Both roles changed: the signed-in user's permissions, the member list and role counts.
      await Promise.all(
        ['me', 'roles', 'members'].map((key) => client.invalidateQueries({ queryKey: [key] })),
      );
    },
  });
  return (
    <Stack component="section" aria-labelledby={headingId} gap="xs">
      <Title order={3} size="h5" id={headingId}>
        {t('profileTransfer')}
      </Title>
      <Text size="sm">{t('profileTransferHelp')}</Text>
      <ErrorText error={admins.error} />
      {admins.isSuccess && rows.length === 0 ? (
        <Text size="sm">{t('profileTransferNoAdmins')}</Text>
      ) : (
        <Group align="flex-end">
          <Select
            label={t('profileTransferTo')}
            placeholder={t('profileTransferPick')}
            searchable
            w={360}
            data={rows.map((m) => ({ value: m.userId, label: `${m.name} (${m.email})` }))}
            value={userId}
            onChange={(v) => {
              setUserId(v);
              transfer.reset();
            }}
          />
          <Button color="red" variant="outline" disabled={!target} onClick={() => setConfirming(true)}>
            {t('profileTransfer')}
          </Button>
          {admins.hasNextPage && (
            <Button
              variant="default"
              onClick={() => admins.fetchNextPage()}
              loading={admins.isFetchingNextPage}
            >
              {t('loadMore')}
            </Button>
          )}
        </Group>
      )}
      <ConfirmDialog
        opened={confirming && target !== null}
        title={t('profileTransfer')}
        message={t('profileTransferConfirm', {
          name: target?.name ?? '',
          email: target?.email ?? '',
          org: org.name,
        })}
        confirmLabel={t('profileTransfer')}
        onCancel={() => {
          setConfirming(false);
          transfer.reset();
        }}
        onConfirm={() => target && transfer.mutate(target)}
        loading={transfer.isPending}
        error={transfer.error}
        grantee
      />
    </Stack>
  );
}

function DeleteOrganization({ org }: { org: Organization }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const navigate = useNavigate();
  const headingId = useId();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [password, setPassword] = useState('');
  const del = useMutation({
    mutationFn: () => api('DELETE', `/orgs/${org.id}`, { password }),
    onSuccess: async () => {
      setPassword('');
      notify(t('profileDeleted', { name: org.name }));
      // The membership is gone: the layout leaves the org's pages once /me says so.
      await client.invalidateQueries({ queryKey: ['me'] });
      navigate('/', { replace: true });
      // Nothing of the deleted org is worth keeping (and nothing shows it any more).
      forgetOrg(client, org.id);
    },
  });
  const close = () => {
    setOpen(false);
    setTyped('');
    setPassword('');
    del.reset();
  };
  const { byField: errors, rest } = fieldErrors(t, del.error, ['password']);
  const matches = typed === org.name;
  return (
    <Stack component="section" aria-labelledby={headingId} gap="xs">
      <Title order={3} size="h5" id={headingId}>
        {t('profileDelete')}
      </Title>
      <Text size="sm">{t('profileDeleteHelp')}</Text>
      <Group>
        <Button color="red" onClick={() => setOpen(true)}>
          {t('profileDelete')}
        </Button>
      </Group>
      <ConfirmDialog
        opened={open}
        onCancel={close}
        title={t('profileDeleteConfirmTitle', { name: org.name })}
        message={t('profileDeleteHelp')}
        confirmLabel={t('profileDeleteSubmit')}
        onConfirm={() => matches && password && del.mutate()}
        disabled={!matches || !password}
        loading={del.isPending}
        error={rest}
      >
        <TextInput
          label={t('profileDeleteTypeName', { name: org.name })}
          autoComplete="off"
          spellCheck={false}
          value={typed}
          onChange={(e) => setTyped(e.currentTarget.value)}
        />
        <PasswordInput
          label={t('profileDeletePassword')}
          autoComplete="current-password"
          value={password}
          error={errors.password}
          aria-invalid={errors.password ? true : undefined}
          onChange={(e) => {
            setPassword(e.currentTarget.value);
            if (del.error) del.reset();
          }}
        />
      </ConfirmDialog>
    </Stack>
  );
}
