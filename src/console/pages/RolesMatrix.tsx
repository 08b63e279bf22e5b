import { Badge, Box, Button, Center, Checkbox, Code, Group, Stack, Table, Text } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type CSSProperties, useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api, apiWithEtag } from '../api.ts';
import { ErrorText } from '../problems.tsx';
import { rolesQuery } from '../queries.ts';
import { type CatalogEntry, colId, type Drafts, type RoleView, roleUrl } from './roles.shared.ts';

/** The roles' permission matrix and each role's unsaved changes, for the Roles page. */

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

export function Matrix(props: {
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
export function PendingRole(props: {
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
