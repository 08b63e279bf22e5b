import {
  Badge,
  Box,
  Button,
  Center,
  Checkbox,
  Code,
  Group,
  NativeSelect,
  Paper,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type CSSProperties, useCallback, useEffect, useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { ErrorText, useMe, usePermissions } from '../App.tsx';
import { ApiError, api, apiWithEtag, type Role } from '../api.ts';
import { useCatalogWords } from '../catalog-words.ts';
import { Dialog, PageLoader } from '../components.tsx';
import { orgQuery, rolesQuery } from '../queries.ts';

/** A role as GET /orgs/:orgId/roles presents it. */
interface RoleView extends Role {
  id: string;
  description: string | null;
  /** Whether its permissions can change (every role but Owner). */
  editable: boolean;
  /** Active members holding it (the list gives it; a single role's answer does not). */
  memberCount?: number;
}

interface CatalogEntry {
  key: string;
  resource: string;
  action: string;
  description: string;
}

/** The permission catalog: the same for every org and every user, so it is read once. */
const catalogQuery = queryOptions({
  queryKey: ['permissions'],
  queryFn: () => api<{ items: CatalogEntry[] }>('GET', '/permissions'),
  staleTime: Number.POSITIVE_INFINITY,
});

/** Unsaved matrix cells: role slug → permission → the state wanted (only cells that differ). */
type Drafts = Record<string, Record<string, boolean>>;

const OWNER = 'owner';
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

const colId = (slug: string) => `roles-col-${slug}`;

const roleUrl = (orgId: string, slug: string) => `/orgs/${orgId}/roles/${encodeURIComponent(slug)}`;

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
  const [notice, setNotice] = useState('');
  const [focusSlug, setFocusSlug] = useState<string | null>(null);
  const items = useMemo(
    () =>
      ((roles.data?.items ?? []) as RoleView[]).map((r) =>
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
      <Text role="status" aria-live="polite" fw={500} data-testid="roles-notice">
        {notice}
      </Text>
      <ErrorText error={roles.error ?? catalog.error ?? org.error} />
      {roles.isPending && <PageLoader />}

      <Stack component="section" aria-labelledby={listHeading}>
        <Title order={2} size="h4" id={listHeading}>
          {t('rolesAllRoles')}
        </Title>
        <Table.ScrollContainer minWidth={720}>
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
        </Table.ScrollContainer>
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
                    setNotice(t('rolesSaved', { name: p.role.name }));
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
            setNotice(t('rolesCreated', { name: role.name }));
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
            setNotice(t('rolesUpdated', { name: role.name }));
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
            setNotice(t('rolesDeleted', { name: role.name }));
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

// Sticky header row and first column, so a wide and long matrix keeps its labels in view.
const bodyBg = 'var(--mantine-color-body)';
const edge = 'inset 0 -1px 0 var(--mantine-color-default-border)';
const stickyTop: CSSProperties = {
  position: 'sticky',
  top: 0,
  zIndex: 2,
  background: bodyBg,
  boxShadow: edge,
};
const stickyLeft: CSSProperties = {
  position: 'sticky',
  left: 0,
  zIndex: 1,
  background: bodyBg,
  boxShadow: 'inset -1px 0 0 var(--mantine-color-default-border)',
};

function Matrix(props: {
  label: string;
  catalog: CatalogEntry[];
  roles: RoleView[];
  drafts: Drafts;
  canToggle: (role: RoleView, key: string) => boolean;
  onToggle: (role: RoleView, key: string, on: boolean) => void;
  focusSlug: string | null;
  onFocused: () => void;
}) {
  const { t } = useTranslation();
  const { roles, drafts, focusSlug, onFocused } = props;
  const groups: Array<{ resource: string; entries: CatalogEntry[] }> = [];
  for (const entry of props.catalog) {
    const last = groups.at(-1);
    if (last?.resource === entry.resource) last.entries.push(entry);
    else groups.push({ resource: entry.resource, entries: [entry] });
  }
  const held = new Map(roles.map((r) => [r.slug, new Set(r.permissions)]));
  const changed = (slug: string) => Object.keys(drafts[slug] ?? {}).length > 0;
  useEffect(() => {
    // A new role's column may be off to the right: bring it into view.
    if (focusSlug && roles.some((r) => r.slug === focusSlug)) {
      document.getElementById(colId(focusSlug))?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
      onFocused();
    }
  }, [focusSlug, roles, onFocused]);

  return (
    <Box
      role="group"
      aria-label={props.label}
      tabIndex={0}
      data-testid="roles-matrix"
      style={
        {
          overflow: 'auto',
          maxHeight: '70vh',
          border: '1px solid var(--mantine-color-default-border)',
          borderRadius: 'var(--mantine-radius-sm)',
          // Read-only cells: a dark check mark, so granted and not granted read apart at a glance.
          '--mantine-color-disabled-color': 'var(--mantine-color-dark-6)',
        } as CSSProperties
      }
    >
      <Table
        highlightOnHover
        style={{ borderCollapse: 'separate', borderSpacing: 0, width: 'max-content', minWidth: '100%' }}
      >
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col" style={{ ...stickyTop, ...stickyLeft, zIndex: 3, minWidth: '18rem' }}>
              {t('rolesPermission')}
            </Table.Th>
            {roles.map((role) => (
              <Table.Th
                key={role.slug}
                id={colId(role.slug)}
                scope="col"
                style={{ ...stickyTop, minWidth: '7.5rem', maxWidth: '10rem', textAlign: 'center' }}
              >
                <Text fw={600} size="sm">
                  {role.name}
                </Text>
                {changed(role.slug) && (
                  <Badge size="xs" color="yellow.4" variant="filled" autoContrast>
                    {t('rolesChangedMark')}
                  </Badge>
                )}
              </Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        {groups.map((group) => (
          <Table.Tbody key={group.resource}>
            <Table.Tr>
              <Table.Th
                scope="rowgroup"
                colSpan={roles.length + 1}
                style={{ background: 'var(--mantine-color-gray-1)' }}
              >
                <span style={{ position: 'sticky', left: 'var(--mantine-spacing-xs)' }}>
                  {t(`rolesGroup_${group.resource}`, { defaultValue: group.resource })}
                </span>
              </Table.Th>
            </Table.Tr>
            {group.entries.map((entry) => {
              const descId = `roles-perm-${entry.key.replace(/[^a-z0-9_-]/g, '-')}`;
              return (
                <Table.Tr key={entry.key}>
                  <Table.Th scope="row" style={stickyLeft} fw={400}>
                    <Code>{entry.key}</Code>
                    <Text size="sm" id={descId}>
                      {entry.description}
                    </Text>
                  </Table.Th>
                  {roles.map((role) => {
                    const draft = drafts[role.slug]?.[entry.key];
                    const serverHas = held.get(role.slug)?.has(entry.key) ?? false;
                    const checked = draft ?? serverHas;
                    const dirtyCell = draft !== undefined && draft !== serverHas;
                    return (
                      <Table.Td
                        key={role.slug}
                        // Unsaved: a dashed outline as well as the tint, so it does not rest on colour alone.
                        style={
                          dirtyCell
                            ? {
                                background: 'var(--mantine-color-yellow-1)',
                                outline: '2px dashed var(--mantine-color-yellow-9)',
                                outlineOffset: -4,
                              }
                            : undefined
                        }
                      >
                        <Center>
                          <Checkbox
                            aria-label={`${role.name}: ${entry.key}`}
                            aria-describedby={descId}
                            checked={checked}
                            disabled={!props.canToggle(role, entry.key)}
                            onChange={(e) => props.onToggle(role, entry.key, e.currentTarget.checked)}
                          />
                        </Center>
                      </Table.Td>
                    );
                  })}
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        ))}
      </Table>
    </Box>
  );
}

/** One role's unsaved matrix changes: what they are, whom they reach, Save and Discard. */
function PendingRole(props: {
  orgId: string;
  role: RoleView;
  added: string[];
  removed: string[];
  order: string[];
  own: boolean;
  onDiscard: () => void;
  onSaved: (added: string[], removed: string[]) => void;
}) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const { role, added, removed } = props;
  const save = useMutation({
    mutationFn: async () => {
      // The changes apply to the role as it is now, not as this page last read it: a permission
      // another admin changed meanwhile in a cell not touched here stays as they left it. The
      // write is conditional (If-Match); should another edit land between the read and the write,
      // it is read and applied once more.
      const apply = async (): Promise<RoleView> => {
        const { data: current, etag } = await apiWithEtag<RoleView>(roleUrl(props.orgId, role.slug));
        const next = new Set(current.permissions);
        for (const k of added) next.add(k);
        for (const k of removed) next.delete(k);
        // Catalog order, as the server stores it; anything outside the catalog is kept as it is.
        const ordered = [
          ...props.order.filter((k) => next.has(k)),
          ...[...next].filter((k) => !props.order.includes(k)),
        ];
        return api<RoleView>(
          'PATCH',
          roleUrl(props.orgId, role.slug),
          { permissions: ordered },
          etag ? { 'if-match': etag } : {},
        );
      };
      try {
        return await apply();
      } catch (err) {
        if (err instanceof ApiError && err.status === 412) return apply();
        throw err;
      }
    },
    onSuccess: async (updated) => {
      // Show the saved set at once (the list's member counts stay), then read the list again.
      client.setQueryData(rolesQuery(props.orgId).queryKey, (old) =>
        old
          ? { ...old, items: old.items.map((r) => (r.slug === updated.slug ? { ...r, ...updated } : r)) }
          : old,
      );
      props.onSaved(added, removed);
      await client.invalidateQueries({ queryKey: rolesQuery(props.orgId).queryKey });
      // The signed-in user's own permissions come from their role: re-read them when it changed.
      if (props.own) await client.invalidateQueries({ queryKey: ['me'] });
    },
  });
  return (
    <Stack gap={4} data-testid={`pending-${role.slug}`}>
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Text size="sm" fw={600}>
            {t('rolesUnsavedRole', { name: role.name, added: added.length, removed: removed.length })}
          </Text>
          <Group gap={6}>
            {added.map((k) => (
              <Code key={k}>+ {k}</Code>
            ))}
            {removed.map((k) => (
              <Code key={k}>− {k}</Code>
            ))}
          </Group>
          {role.memberCount !== undefined && (
            <Text size="sm">{t('rolesAffects', { count: role.memberCount })}</Text>
          )}
          {props.own && removed.length > 0 && (
            <Text size="sm" fw={600}>
              {t('rolesOwnRole')}
            </Text>
          )}
        </Stack>
        <Group gap="xs">
          <Button size="xs" variant="default" onClick={props.onDiscard} disabled={save.isPending}>
            {t('rolesDiscardLabel', { name: role.name })}
          </Button>
          <Button size="xs" onClick={() => save.mutate()} loading={save.isPending}>
            {t('rolesSaveLabel', { name: role.name })}
          </Button>
        </Group>
      </Group>
      <ErrorText error={save.error} />
    </Stack>
  );
}

/** The message of a field-level validation error from the server, if any, for one body field. */
function fieldError(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  return error.fields.find((f) => f.field.split('/').pop() === field)?.message;
}

function CreateRoleDialog(props: {
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
            error={fieldError(create.error, 'name')}
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
            error={slugProblem ?? fieldError(create.error, 'slug')}
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
            error={fieldError(create.error, 'description')}
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
          <ErrorText error={create.error} />
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

function EditRoleDialog(props: {
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
            error={fieldError(save.error, 'name')}
            onChange={(e) => setName(e.currentTarget.value)}
          />
          <TextInput label={t('rolesSlug')} value={role?.slug ?? ''} readOnly />
          <Textarea
            label={t('rolesDescription')}
            maxLength={500}
            autosize
            minRows={2}
            value={description}
            error={fieldError(save.error, 'description')}
            onChange={(e) => setDescription(e.currentTarget.value)}
          />
          <ErrorText error={save.error} />
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

function DeleteRoleDialog(props: {
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
    <Dialog
      opened={role !== null}
      onClose={props.onClose}
      title={t('rolesDeleteTitle', { name: role?.name ?? '' })}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          remove.mutate(mustMove ? target : null);
        }}
      >
        <Stack>
          <Text>{t('rolesDeleteConfirm', { name: role?.name ?? '' })}</Text>
          {mustMove && (
            <>
              <Text fw={600}>{t('rolesInUse')}</Text>
              {inUse ? (
                <Text size="sm">{inUse.message}</Text>
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
          <ErrorText error={inUse ? null : remove.error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              {t('cancel')}
            </Button>
            <Button type="submit" color="red.9" loading={remove.isPending} disabled={mustMove && !target}>
              {mustMove ? t('rolesMoveAndDelete') : t('rolesDelete')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Dialog>
  );
}
