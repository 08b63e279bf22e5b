import { Badge, Button, Code, Group, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { queryOptions, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import type { PermissionEntry } from '../../contracts/wire.ts';
import { api } from '../api.ts';
import { useCatalogWords } from '../catalog-words.ts';
import { PageLoader, ScrollFrame } from '../components.tsx';
import { useMe, usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';
import { orgQuery, rolesQuery } from '../queries.ts';
import { CreateRoleDialog, DeleteRoleDialog, EditRoleDialog } from './RoleDialogs.tsx';
import { Matrix, PendingRole } from './RolesMatrix.tsx';
import type { Drafts, RoleView } from './roles.shared.ts';

/** The permission catalog: the same for every org and every user, so it is read once. */
const catalogQuery = queryOptions({
  queryKey: ['permissions'],
  queryFn: () => api<{ items: PermissionEntry[] }>('GET', '/permissions'),
  staleTime: Number.POSITIVE_INFINITY,
});

/** Settings → Organization → Roles: the roles, their permission matrix, custom roles. */
export function RolesPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const me = useMe();
  const client = useQueryClient();
  const manage = can.has('roles:manage');
  const roles = useQuery(rolesQuery(orgId));
  // Built-in roles and the catalog's descriptions read in the reader's language (catalog-words.ts).
  const words = useCatalogWords();
  const catalog = useQuery({
    ...catalogQuery,
    select: (data) => ({
      items: data.items.map((p) => ({ ...p, description: words.permission(p.key, p.description) })),
    }),
  });
  // The plan decides whether custom roles exist at all; only settings readers can see it.
  // The plan says whether custom roles exist here (readable with settings:read; without it, the
  // server's refusal says so when a role is created).
  const org = useQuery({ ...orgQuery(orgId), enabled: manage && can.has('settings:read') });
  const customAllowed = org.data?.entitlements.customRoles !== false;
  const [drafts, setDrafts] = useState<Drafts>({});
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<RoleView | null>(null);
  const [deleting, setDeleting] = useState<RoleView | null>(null);
  const [focusSlug, setFocusSlug] = useState<string | null>(null);
  const items: RoleView[] = useMemo(
    () =>
      (roles.data?.items ?? []).map((r) =>
        r.builtin
          ? {
              ...r,
              name: words.roleName(r.slug, r.name),
              description: words.roleDescription(r.slug, r.description),
            }
          : r,
      ),
    [roles.data, words],
  );
  const mySlug = me.data?.memberships.find((m) => m.org.id === orgId)?.role;
  const listHeading = useId();
  const matrixHeading = useId();

  // Cells whose wanted state still differs from the server's, per role.
  const pending = items
    .map((role) => {
      const wanted = drafts[role.slug] ?? {};
      const added = Object.keys(wanted).filter((k) => wanted[k] && !role.permissions.includes(k));
      const removed = Object.keys(wanted).filter((k) => !wanted[k] && role.permissions.includes(k));
      return { role, added, removed };
    })
    .filter((p) => p.added.length + p.removed.length > 0);
  const dirty = pending.length > 0;

  useEffect(() => {
    if (!dirty) return;
    // Leaving or reloading the page would lose unsaved permission changes: the browser asks first.
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const toggle = (role: RoleView, key: string, on: boolean) =>
    setDrafts((prev) => {
      const mine = { ...(prev[role.slug] ?? {}) };
      if (on === role.permissions.includes(key)) delete mine[key];
      else mine[key] = on;
      const next = { ...prev };
      if (Object.keys(mine).length > 0) next[role.slug] = mine;
      else delete next[role.slug];
      return next;
    });
  const discard = (slug: string) =>
    setDrafts((prev) => {
      const next = { ...prev };
      delete next[slug];
      return next;
    });
  // After a save: forget the cells it saved, but not those changed again while it was on its way.
  const settle = (slug: string, added: string[], removed: string[]) =>
    setDrafts((prev) => {
      const mine = { ...(prev[slug] ?? {}) };
      for (const k of added) if (mine[k] === true) delete mine[k];
      for (const k of removed) if (mine[k] === false) delete mine[k];
      const next = { ...prev };
      if (Object.keys(mine).length > 0) next[slug] = mine;
      else delete next[slug];
      return next;
    });
  const clearFocus = useCallback(() => setFocusSlug(null), []);
  const refreshRoles = () => client.invalidateQueries({ queryKey: rolesQuery(orgId).queryKey });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h3">
          {t('roles')}
        </Title>
        {manage && customAllowed && <Button onClick={() => setCreating(true)}>{t('rolesNew')}</Button>}
      </Group>
      <Text>{t('rolesIntro')}</Text>
      {roles.data && !manage && <Text fw={500}>{t('rolesReadOnly')}</Text>}
      {manage && !customAllowed && <Text fw={500}>{t('rolesPlanNoCustom')}</Text>}
      <ErrorText error={roles.error ?? catalog.error ?? org.error} />
      {roles.isPending && <PageLoader />}

      <Stack component="section" aria-labelledby={listHeading}>
        <Title order={2} size="h4" id={listHeading}>
          {t('rolesAllRoles')}
        </Title>
        <ScrollFrame label={t('rolesAllRoles')} minWidth={720}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('name')}</Table.Th>
                <Table.Th>{t('rolesSlug')}</Table.Th>
                <Table.Th>{t('rolesKind')}</Table.Th>
                <Table.Th>{t('rolesDescription')}</Table.Th>
                <Table.Th>{t('members')}</Table.Th>
                <Table.Th>{t('rolesPermissionCount')}</Table.Th>
                {manage && <Table.Th>{t('rolesActions')}</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((role) => (
                <Table.Tr key={role.slug} data-testid={`role-${role.slug}`}>
                  <Table.Th scope="row" fw={600}>
                    {role.name}
                  </Table.Th>
                  <Table.Td>
                    <Code style={{ whiteSpace: 'nowrap' }}>{role.slug}</Code>
                  </Table.Td>
                  <Table.Td>
                    {role.builtin ? (
                      <Badge variant="outline" maw="none">
                        {t('rolesBuiltin')}
                      </Badge>
                    ) : (
                      <Badge variant="outline" color="gray.8" maw="none">
                        {t('rolesCustom')}
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>{role.description || t('rolesNoDescription')}</Table.Td>
                  <Table.Td>{role.memberCount ?? '—'}</Table.Td>
                  <Table.Td>{role.permissions.length}</Table.Td>
                  {manage && (
                    <Table.Td>
                      {!role.builtin && (
                        <Group gap="xs" wrap="nowrap">
                          <Button
                            size="xs"
                            variant="default"
                            aria-label={t('rolesEditLabel', { name: role.name })}
                            onClick={() => setEditing(role)}
                          >
                            {t('rolesEdit')}
                          </Button>
                          <Button
                            size="xs"
                            variant="outline"
                            color="red.9"
                            aria-label={t('rolesDeleteLabel', { name: role.name })}
                            onClick={() => setDeleting(role)}
                          >
                            {t('rolesDelete')}
                          </Button>
                        </Group>
                      )}
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      </Stack>

      <Stack component="section" aria-labelledby={matrixHeading}>
        <Title order={2} size="h4" id={matrixHeading}>
          {t('rolesMatrix')}
        </Title>
        <Text size="sm">{t('rolesMatrixHelp')}</Text>
        {manage && catalog.data?.items.some((p) => !can.has(p.key)) && (
          <Text size="sm">{t('rolesCannotGrant')}</Text>
        )}
        {dirty && (
          <Paper withBorder p="sm" component="section" aria-label={t('rolesUnsaved')} bg="yellow.0">
            <Stack gap="xs">
              <Text fw={600}>{t('rolesUnsaved')}</Text>
              {pending.map((p) => (
                <PendingRole
                  key={p.role.slug}
                  orgId={orgId}
                  role={p.role}
                  added={p.added}
                  removed={p.removed}
                  order={catalog.data?.items.map((c) => c.key) ?? []}
                  own={p.role.slug === mySlug}
                  onDiscard={() => discard(p.role.slug)}
                  onSaved={(added, removed) => {
                    settle(p.role.slug, added, removed);
                    notify(t('rolesSaved', { name: p.role.name }));
                  }}
                />
              ))}
            </Stack>
          </Paper>
        )}
        {catalog.data && items.length > 0 && (
          <Matrix
            label={t('rolesMatrix')}
            catalog={catalog.data.items}
            roles={items}
            drafts={drafts}
            // A role is in reach only when the actor holds all it carries, and grants only what they hold.
            canToggle={(role, key) =>
              manage && role.editable && can.has(key) && role.permissions.every((p) => can.has(p))
            }
            onToggle={toggle}
            focusSlug={focusSlug}
            onFocused={clearFocus}
          />
        )}
      </Stack>

      {manage && (
        <CreateRoleDialog
          orgId={orgId}
          opened={creating}
          roles={items}
          held={can}
          onClose={() => setCreating(false)}
          onCreated={async (role) => {
            setCreating(false);
            notify(t('rolesCreated', { name: role.name }));
            setFocusSlug(role.slug);
            await refreshRoles();
          }}
        />
      )}
      {manage && (
        <EditRoleDialog
          key={`edit-${editing?.slug ?? ''}`}
          orgId={orgId}
          role={editing}
          onClose={() => setEditing(null)}
          onSaved={async (role) => {
            setEditing(null);
            notify(t('rolesUpdated', { name: role.name }));
            await refreshRoles();
          }}
        />
      )}
      {manage && (
        <DeleteRoleDialog
          key={`delete-${deleting?.slug ?? ''}`}
          orgId={orgId}
          role={deleting}
          roles={items}
          held={can}
          onClose={() => setDeleting(null)}
          onDeleted={async (role) => {
            setDeleting(null);
            discard(role.slug);
            notify(t('rolesDeleted', { name: role.name }));
            // Members, invitations and automation tokens moved to another role: their lists change too.
            await client.invalidateQueries({
              predicate: (q) =>
                ['roles', 'members', 'me', 'invitations', 'tokens'].includes(q.queryKey[0] as string),
            });
          }}
        />
      )}
    </Stack>
  );
}
