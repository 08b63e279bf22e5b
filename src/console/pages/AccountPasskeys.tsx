import { Button, Group, Loader, Stack, Table, Text, TextInput, VisuallyHidden } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { PasskeyView } from '../../contracts/wire.ts';
import { api } from '../api.ts';
import {
  ConfirmDialog,
  Dialog,
  DialogActions,
  RowDangerButton,
  ScrollFrame,
  Section,
} from '../components.tsx';
import { useFormat } from '../format.ts';
import { notify } from '../notify.tsx';
import { addPasskey, PasskeyErrorText } from '../passkeys.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { needsReauthentication, ReauthDialog } from './AccountReauth.tsx';

/**
 * Settings → Account → Security → Passkeys: the signed-in user's passkeys (name, added, last
 * used), adding one on this device under a name, renaming, and removing with a confirmation.
 */

const PASSKEYS = ['passkeys'];

export function PasskeysSection() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const format = useFormat();
  const [name, setName] = useState('');
  const [renaming, setRenaming] = useState<PasskeyView | null>(null);
  const [newName, setNewName] = useState('');
  const [removing, setRemoving] = useState<PasskeyView | null>(null);
  const list = useQuery({
    queryKey: PASSKEYS,
    queryFn: () => api<{ items: PasskeyView[] }>('GET', '/me/passkeys'),
  });
  const changed = async () => {
    await client.invalidateQueries({ queryKey: PASSKEYS });
    // /me counts them.
    await client.invalidateQueries({ queryKey: ['me'] });
  };
  const [reauth, setReauth] = useState(false);
  const add = useMutation({
    mutationFn: () => addPasskey(name.trim()),
    onSuccess: async (passkey) => {
      setName('');
      notify(t('passkeyAdded', { name: passkey.name }));
      await changed();
    },
    onError: (error) => setReauth(needsReauthentication(error)),
  });
  const rename = useMutation({
    mutationFn: (p: PasskeyView) =>
      api<PasskeyView>('PATCH', `/me/passkeys/${p.id}`, { name: newName.trim() }),
    onSuccess: async (passkey) => {
      setRenaming(null);
      notify(t('passkeyRenamed', { name: passkey.name }));
      await changed();
    },
  });
  const remove = useMutation({
    mutationFn: (p: PasskeyView) => api('DELETE', `/me/passkeys/${p.id}`),
    onSuccess: async (_res, p) => {
      setRemoving(null);
      notify(t('passkeyRemoved', { name: p.name }));
      await changed();
    },
  });
  const addErrors = fieldErrors(t, add.error, ['name']);
  const renameErrors = fieldErrors(t, rename.error, ['name']);
  const rows = list.data?.items ?? [];

  return (
    <Section title={t('passkeysTitle')}>
      <Text>{t('passkeysHelp')}</Text>
      <ErrorText error={list.error} />
      {list.isPending ? (
        <Loader aria-label={t('passkeysTitle')} size="sm" />
      ) : rows.length === 0 ? (
        <Text c="gray.7">{t('passkeysNone')}</Text>
      ) : (
        <ScrollFrame label={t('passkeysTitle')} minWidth={560}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('passkeyColumnName')}</Table.Th>
                <Table.Th>{t('passkeyCreated')}</Table.Th>
                <Table.Th>{t('passkeyLastUsed')}</Table.Th>
                <Table.Th>
                  <VisuallyHidden>{t('action')}</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((p) => (
                <Table.Tr key={p.id} data-testid={`passkey-${p.id}`}>
                  <Table.Td>
                    <Text size="sm" fw={500}>
                      {p.name}
                    </Text>
                  </Table.Td>
                  <Table.Td>{format.dateTime(p.createdAt)}</Table.Td>
                  <Table.Td>{p.lastUsedAt ? format.dateTime(p.lastUsedAt) : t('passkeyNeverUsed')}</Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap">
                      <Button
                        size="xs"
                        variant="subtle"
                        aria-label={t('passkeyRenameLabel', { name: p.name })}
                        onClick={() => {
                          rename.reset();
                          setNewName(p.name);
                          setRenaming(p);
                        }}
                      >
                        {t('passkeyRename')}
                      </Button>
                      <RowDangerButton
                        label={t('passkeyRemoveLabel', { name: p.name })}
                        onClick={() => {
                          remove.reset();
                          setRemoving(p);
                        }}
                      >
                        {t('passkeyRemove')}
                      </RowDangerButton>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <Group align="flex-end">
          <TextInput
            label={t('passkeyName')}
            description={t('passkeyNameHelp')}
            required
            maxLength={64}
            value={name}
            error={addErrors.byField.name}
            onChange={(e) => setName(e.currentTarget.value)}
            style={{ flex: 1, minWidth: 220 }}
          />
          <Button type="submit" loading={add.isPending}>
            {t('passkeyAdd')}
          </Button>
        </Group>
      </form>
      <PasskeyErrorText error={needsReauthentication(addErrors.rest) ? null : addErrors.rest} />
      {reauth && (
        <ReauthDialog
          onCancel={() => {
            setReauth(false);
            add.reset();
          }}
          onDone={() => {
            setReauth(false);
            add.mutate();
          }}
        />
      )}
      <Dialog opened={renaming !== null} onClose={() => setRenaming(null)} title={t('passkeyRenameTitle')}>
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (renaming) rename.mutate(renaming);
          }}
        >
          <Stack>
            <TextInput
              label={t('passkeyName')}
              required
              maxLength={64}
              value={newName}
              error={renameErrors.byField.name}
              onChange={(e) => setNewName(e.currentTarget.value)}
              data-autofocus
            />
            <ErrorText error={renameErrors.rest} />
            <DialogActions
              onCancel={() => setRenaming(null)}
              onConfirm={() => renaming && rename.mutate(renaming)}
              label={t('passkeyRename')}
              color="blue"
              loading={rename.isPending}
            />
          </Stack>
        </form>
      </Dialog>
      <ConfirmDialog
        opened={removing !== null}
        onCancel={() => setRemoving(null)}
        title={t('passkeyRemoveTitle', { name: removing?.name ?? '' })}
        message={t('passkeyRemoveConfirm')}
        confirmLabel={t('passkeyRemove')}
        loading={remove.isPending}
        error={remove.error}
        onConfirm={() => removing && remove.mutate(removing)}
      />
    </Section>
  );
}
