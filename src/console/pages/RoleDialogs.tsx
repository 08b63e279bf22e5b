import { Button, Group, NativeSelect, Stack, Text, Textarea, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api } from '../api.ts';
import { ConfirmDialog, Dialog } from '../components.tsx';
import { describeProblem, ErrorText, fieldErrors } from '../problems.tsx';
import { OWNER, type RoleView, roleUrl } from './roles.shared.ts';

/** The Roles page's dialogs: create a custom role, rename it, delete it (moving its holders). */

const SLUG_PATTERN = /^[a-z][a-z0-9_-]{1,39}$/;

/** A slug the server accepts, from a role name ("Security Lead" → "security-lead"). */
function suggestSlug(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 40)
    .replace(/-+$/, '');
}

export function CreateRoleDialog(props: {
  orgId: string;
  opened: boolean;
  roles: RoleView[];
  held: ReadonlySet<string>;
  onClose: () => void;
  onCreated: (role: RoleView) => unknown;
}) {
  const { t } = useTranslation();
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const [description, setDescription] = useState('');
  const [from, setFrom] = useState('viewer');
  const source = props.roles.find((r) => r.slug === from);
  const beyond = (source?.permissions ?? []).filter((p) => !props.held.has(p));
  const create = useMutation({
    mutationFn: () =>
      api<RoleView>('POST', `/orgs/${props.orgId}/roles`, {
        slug,
        name: name.trim(),
        description: description.trim() || null,
        permissions: source?.permissions ?? [],
      }),
    onSuccess: async (role) => {
      reset();
      await props.onCreated(role);
    },
  });
  const { byField, rest } = fieldErrors(t, create.error, ['name', 'slug', 'description', 'permissions']);
  const reset = () => {
    setName('');
    setSlug('');
    setSlugEdited(false);
    setDescription('');
    setFrom('viewer');
    create.reset();
  };
  const close = () => {
    reset();
    props.onClose();
  };
  const slugProblem =
    slug === ''
      ? undefined
      : !SLUG_PATTERN.test(slug)
        ? t('rolesSlugInvalid')
        : props.roles.some((r) => r.slug === slug)
          ? t('rolesSlugTaken')
          : undefined;
  return (
    <Dialog opened={props.opened} onClose={close} title={t('rolesNew')}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!slugProblem) create.mutate();
        }}
      >
        <Stack>
          <TextInput
            label={t('name')}
            required
            maxLength={60}
            value={name}
            error={byField.name}
            onChange={(e) => {
              const v = e.currentTarget.value;
              setName(v);
              if (!slugEdited) setSlug(suggestSlug(v));
            }}
          />
          <TextInput
            label={t('rolesSlug')}
            description={t('rolesSlugHelp')}
            required
            maxLength={40}
            value={slug}
            error={slugProblem ?? byField.slug}
            onChange={(e) => {
              setSlug(e.currentTarget.value);
              setSlugEdited(true);
            }}
          />
          <Textarea
            label={t('rolesDescription')}
            maxLength={500}
            autosize
            minRows={2}
            value={description}
            error={byField.description}
            onChange={(e) => setDescription(e.currentTarget.value)}
          />
          <NativeSelect
            label={t('rolesStartFrom')}
            description={t('rolesStartFromHelp')}
            value={from}
            onChange={(e) => setFrom(e.currentTarget.value)}
            data={[
              { value: '', label: t('rolesStartEmpty') },
              ...props.roles.map((r) => ({ value: r.slug, label: r.name })),
            ]}
          />
          {beyond.length > 0 && (
            <Text size="sm">{t('rolesStartFromBeyond', { list: beyond.join(', ') })}</Text>
          )}
          <ErrorText error={rest} feature="customRoles" />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              {t('cancel')}
            </Button>
            <Button type="submit" loading={create.isPending} disabled={Boolean(slugProblem)}>
              {t('rolesNew')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Dialog>
  );
}

export function EditRoleDialog(props: {
  orgId: string;
  role: RoleView | null;
  onClose: () => void;
  onSaved: (role: RoleView) => unknown;
}) {
  const { t } = useTranslation();
  const { role } = props;
  const [name, setName] = useState(role?.name ?? '');
  const [description, setDescription] = useState(role?.description ?? '');
  const save = useMutation({
    mutationFn: () =>
      api<RoleView>('PATCH', roleUrl(props.orgId, role!.slug), {
        name: name.trim(),
        description: description.trim() || null,
      }),
    onSuccess: (updated) => props.onSaved(updated),
  });
  const { byField, rest } = fieldErrors(t, save.error, ['name', 'description']);
  return (
    <Dialog
      opened={role !== null}
      onClose={props.onClose}
      title={t('rolesEditTitle', { name: role?.name ?? '' })}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Stack>
          <TextInput
            label={t('name')}
            required
            maxLength={60}
            value={name}
            error={byField.name}
            onChange={(e) => setName(e.currentTarget.value)}
          />
          <TextInput label={t('rolesSlug')} value={role?.slug ?? ''} readOnly />
          <Textarea
            label={t('rolesDescription')}
            maxLength={500}
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
              {t('rolesSave')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Dialog>
  );
}

export function DeleteRoleDialog(props: {
  orgId: string;
  role: RoleView | null;
  roles: RoleView[];
  held: ReadonlySet<string>;
  onClose: () => void;
  onDeleted: (role: RoleView) => unknown;
}) {
  const { t } = useTranslation();
  const { role } = props;
  // With members on it the server refuses a plain delete, so the choice is asked for at once; a
  // 409 role_in_use (pending invitations, automation tokens) asks for it too.
  const [mustMove, setMustMove] = useState((role?.memberCount ?? 0) > 0);
  const [target, setTarget] = useState('');
  // Owner is never a destination; the others only when the actor holds all they grant (the
  // server refuses moving people into a role with more than the actor's own permissions).
  const targets = props.roles.filter(
    (r) => r.slug !== role?.slug && r.slug !== OWNER && r.permissions.every((p) => props.held.has(p)),
  );
  const remove = useMutation({
    mutationFn: (reassignTo: string | null) =>
      api(
        'DELETE',
        `${roleUrl(props.orgId, role!.slug)}${reassignTo ? `?reassignTo=${encodeURIComponent(reassignTo)}` : ''}`,
      ),
    onSuccess: () => props.onDeleted(role!),
    onError: (err) => {
      if (err instanceof ApiError && err.code === 'role_in_use') setMustMove(true);
    },
  });
  const inUse = remove.error instanceof ApiError && remove.error.code === 'role_in_use' ? remove.error : null;
  return (
    <ConfirmDialog
      opened={role !== null}
      onCancel={props.onClose}
      title={t('rolesDeleteTitle', { name: role?.name ?? '' })}
      message={t('rolesDeleteConfirm', { name: role?.name ?? '' })}
      confirmLabel={mustMove ? t('rolesMoveAndDelete') : t('rolesDelete')}
      onConfirm={() => remove.mutate(mustMove ? target : null)}
      loading={remove.isPending}
      disabled={mustMove && !target}
      error={inUse ? null : remove.error}
    >
      {mustMove && (
        <>
          <Text fw={600}>{t('rolesInUse')}</Text>
          {inUse ? (
            <Text size="sm">{describeProblem(t, inUse).message}</Text>
          ) : (
            <Text size="sm">{t('rolesAffects', { count: role?.memberCount ?? 0 })}</Text>
          )}
          {targets.length > 0 ? (
            <NativeSelect
              label={t('rolesMoveTo')}
              description={t('rolesMoveHelp')}
              required
              value={target}
              onChange={(e) => setTarget(e.currentTarget.value)}
              data={[
                { value: '', label: t('rolesChooseRole'), disabled: true },
                ...targets.map((r) => ({ value: r.slug, label: r.name })),
              ]}
            />
          ) : (
            <Text>{t('rolesNoTarget')}</Text>
          )}
        </>
      )}
    </ConfirmDialog>
  );
}
