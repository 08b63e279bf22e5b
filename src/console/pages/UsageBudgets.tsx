import {
  Button,
  Group,
  MultiSelect,
  NumberInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { entitlements } from '../../contracts/plans.ts';
import type {
  DepartmentView,
  Member,
  MemberBudgetView,
  Page,
  QuotaBoostView,
  UsageReport,
} from '../../contracts/wire.ts';
import { api } from '../api.ts';
import { ConfirmDialog, Dialog, RowDangerButton, ScrollFrame, Section } from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';

/** A section listing rows in a table (or saying there are none), with its form below. */
function ListSection(props: {
  title: string;
  testId: string;
  help: string;
  empty: string;
  error: unknown;
  minWidth: number;
  head: ReactNode;
  rows: ReactNode;
  children?: ReactNode;
}) {
  return (
    <Section title={props.title} testId={props.testId}>
      <Text size="sm">{props.help}</Text>
      <ErrorText error={props.error} />
      {props.rows === null ? (
        <Text size="sm">{props.empty}</Text>
      ) : (
        <ScrollFrame label={props.title} minWidth={props.minWidth}>
          <Table>
            <Table.Thead>{props.head}</Table.Thead>
            <Table.Tbody>{props.rows}</Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      {props.children}
    </Section>
  );
}

/** Typed tokens: empty is null (no budget); anything else as typed, for the server to judge. */
const tokensOf = (value: string | number) => (value === '' ? null : Number(value));

/** Enterprise: departments, member budgets and boosts; read-only without quota:manage. */
export function UsageBudgets({ orgId, report }: { orgId: string; report: UsageReport }) {
  const { t } = useTranslation();
  const can = usePermissions(orgId);
  if (!entitlements(report.plan).budgets) return null;
  const manage = can.has('quota:manage');
  return (
    <Stack>
      {!manage && <Text size="sm">{t('usageReadOnly')}</Text>}
      <Departments orgId={orgId} report={report} manage={manage} />
      <MemberBudgets orgId={orgId} manage={manage} />
      <Boosts orgId={orgId} manage={manage} />
    </Stack>
  );
}

function useActiveMembers(orgId: string, enabled: boolean) {
  return useQuery({
    queryKey: ['members', orgId, 'quota'],
    queryFn: () => api<Page<Member>>('GET', `/orgs/${orgId}/members?status=active&limit=100`),
    enabled,
  });
}

function Departments({ orgId, report, manage }: { orgId: string; report: UsageReport; manage: boolean }) {
  const { t } = useTranslation();
  const n = useFormat().number;
  const client = useQueryClient();
  const list = useQuery({
    queryKey: ['departments', orgId],
    queryFn: () => api<{ items: DepartmentView[] }>('GET', `/orgs/${orgId}/departments`),
  });
  const [editing, setEditing] = useState<DepartmentView | 'new' | null>(null);
  const [deleting, setDeleting] = useState<DepartmentView | null>(null);
  const refresh = () =>
    Promise.all([
      client.invalidateQueries({ queryKey: ['departments', orgId] }),
      client.invalidateQueries({ queryKey: ['usage', orgId] }),
    ]);
  const remove = useMutation({
    mutationFn: (d: DepartmentView) => api('DELETE', `/orgs/${orgId}/departments/${d.id}`),
    onSuccess: async () => {
      setDeleting(null);
      notify(t('usageDeleted'));
      await refresh();
    },
  });
  const items = list.data?.items ?? [];
  const nameOf = (id: string | null) => items.find((d) => d.id === id)?.name ?? '';
  const spent = new Map(report.byDepartment.map((d) => [d.id, d.tokens]));
  return (
    <ListSection
      title={t('usageDepartments')}
      testId="departments"
      help={t('usageDepartmentsHelp')}
      empty={t('usageNoDepartments')}
      error={list.error}
      minWidth={640}
      head={
        <Table.Tr>
          <Table.Th>{t('usageName')}</Table.Th>
          <Table.Th>{t('usageParent')}</Table.Th>
          <Table.Th>{t('usageMembers')}</Table.Th>
          <Table.Th ta="right">{t('usageBudget')}</Table.Th>
          <Table.Th ta="right">{t('usageUsed')}</Table.Th>
          {manage && <Table.Th />}
        </Table.Tr>
      }
      rows={
        items.length === 0
          ? null
          : items.map((d) => (
              <Table.Tr key={d.id}>
                <Table.Td>{d.name}</Table.Td>
                <Table.Td>{nameOf(d.parentId)}</Table.Td>
                <Table.Td>{d.members.map((m) => m.email).join(', ')}</Table.Td>
                <Table.Td ta="right">
                  {d.monthlyBudget === null ? t('usageNoBudget') : n(d.monthlyBudget)}
                </Table.Td>
                <Table.Td ta="right">{n(spent.get(d.id) ?? 0)}</Table.Td>
                {manage && (
                  <Table.Td>
                    <Group gap="xs" justify="flex-end" wrap="nowrap">
                      <Button
                        size="xs"
                        variant="default"
                        aria-label={t('usageEditNamed', { name: d.name })}
                        onClick={() => setEditing(d)}
                      >
                        {t('usageEdit')}
                      </Button>
                      <RowDangerButton
                        label={t('usageDeleteNamed', { name: d.name })}
                        onClick={() => {
                          remove.reset();
                          setDeleting(d);
                        }}
                      >
                        {t('usageDelete')}
                      </RowDangerButton>
                    </Group>
                  </Table.Td>
                )}
              </Table.Tr>
            ))
      }
    >
      {manage && (
        <Group>
          <Button onClick={() => setEditing('new')}>{t('usageNewDepartment')}</Button>
        </Group>
      )}
      {editing !== null && (
        <DepartmentDialog
          orgId={orgId}
          department={editing === 'new' ? null : editing}
          departments={items}
          onClose={() => setEditing(null)}
          onSaved={refresh}
        />
      )}
      <ConfirmDialog
        opened={deleting !== null}
        title={t('usageDeleteTitle')}
        message={t('usageDeleteBody', { name: deleting?.name ?? '' })}
        confirmLabel={t('usageDeleteNamed', { name: deleting?.name ?? '' })}
        onConfirm={() => deleting && remove.mutate(deleting)}
        onCancel={() => setDeleting(null)}
        loading={remove.isPending}
        error={remove.error}
      />
    </ListSection>
  );
}

function DepartmentDialog(props: {
  orgId: string;
  department: DepartmentView | null;
  departments: DepartmentView[];
  onClose: () => void;
  onSaved: () => Promise<unknown>;
}) {
  const { t } = useTranslation();
  const d = props.department;
  const members = useActiveMembers(props.orgId, true);
  const [name, setName] = useState(d?.name ?? '');
  const [budget, setBudget] = useState<string | number>(d?.monthlyBudget ?? '');
  const [parentId, setParentId] = useState<string | null>(d?.parentId ?? null);
  const [memberIds, setMemberIds] = useState<string[]>(d?.memberIds ?? []);
  const save = useMutation({
    mutationFn: () => {
      const body = { name, monthlyBudget: tokensOf(budget), parentId, memberIds };
      return d
        ? api<DepartmentView & { moved: unknown[] }>(
            'PATCH',
            `/orgs/${props.orgId}/departments/${d.id}`,
            body,
          )
        : api<DepartmentView & { moved: unknown[] }>('POST', `/orgs/${props.orgId}/departments`, body);
    },
    onSuccess: async (saved) => {
      notify(d ? t('usageSaved') : t('usageCreated'));
      if (saved.moved.length > 0) notify(t('usageMoved', { count: saved.moved.length }));
      await props.onSaved();
      props.onClose();
    },
  });
  const { byField, rest } = fieldErrors(t, save.error, ['name', 'monthlyBudget', 'parentId', 'memberIds']);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <Dialog opened onClose={props.onClose} title={d ? t('usageEditDepartment') : t('usageNewDepartment')}>
      <form onSubmit={onSubmit} noValidate>
        <Stack>
          <TextInput
            label={t('usageName')}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            required
            error={byField.name}
          />
          <NumberInput
            label={t('usageBudget')}
            description={t('usageBudgetHelp')}
            value={budget}
            onChange={setBudget}
            min={0}
            allowDecimal={false}
            error={byField.monthlyBudget}
          />
          <Select
            label={t('usageParent')}
            placeholder={t('usageNoParent')}
            data={props.departments
              .filter((x) => x.id !== d?.id)
              .map((x) => ({ value: x.id, label: x.name }))}
            value={parentId}
            onChange={setParentId}
            clearable
            error={byField.parentId}
          />
          <MultiSelect
            label={t('usageMembers')}
            data={(members.data?.items ?? []).map((m) => ({ value: m.userId, label: m.email }))}
            value={memberIds}
            onChange={setMemberIds}
            searchable
            error={byField.memberIds}
          />
          <ErrorText error={rest} />
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              {t('cancel')}
            </Button>
            <Button type="submit" loading={save.isPending}>
              {d ? t('usageSave') : t('usageCreate')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Dialog>
  );
}

function MemberBudgets({ orgId, manage }: { orgId: string; manage: boolean }) {
  const { t } = useTranslation();
  const n = useFormat().number;
  const client = useQueryClient();
  const list = useQuery({
    queryKey: ['member-budgets', orgId],
    queryFn: () => api<{ items: MemberBudgetView[] }>('GET', `/orgs/${orgId}/member-budgets`),
  });
  const members = useActiveMembers(orgId, manage);
  const [userId, setUserId] = useState<string | null>(null);
  const [tokens, setTokens] = useState<string | number>('');
  const put = useMutation({
    mutationFn: (v: { userId: string; monthlyTokens: number | null }) =>
      api('PUT', `/orgs/${orgId}/members/${v.userId}/budget`, { monthlyTokens: v.monthlyTokens }),
    onSuccess: async (_r, v) => {
      notify(v.monthlyTokens === null ? t('usageBudgetCleared') : t('usageBudgetSet'));
      setTokens('');
      await client.invalidateQueries({ queryKey: ['member-budgets', orgId] });
    },
  });
  const { byField, rest } = fieldErrors(t, put.error, ['monthlyTokens']);
  const items = list.data?.items ?? [];
  return (
    <ListSection
      title={t('usageMemberBudgets')}
      testId="member-budgets"
      help={t('usageMemberBudgetsHelp')}
      empty={t('usageNoMemberBudgets')}
      error={list.error}
      minWidth={480}
      head={
        <Table.Tr>
          <Table.Th>{t('usageMember')}</Table.Th>
          <Table.Th ta="right">{t('usageBudget')}</Table.Th>
          <Table.Th ta="right">{t('usageSpent')}</Table.Th>
          {manage && <Table.Th />}
        </Table.Tr>
      }
      rows={
        items.length === 0
          ? null
          : items.map((b) => (
              <Table.Tr key={b.userId}>
                <Table.Td>{b.email}</Table.Td>
                <Table.Td ta="right">{n(b.monthlyTokens)}</Table.Td>
                <Table.Td ta="right">{n(b.used)}</Table.Td>
                {manage && (
                  <Table.Td ta="right">
                    <RowDangerButton
                      label={t('usageClearBudget', { email: b.email })}
                      onClick={() => put.mutate({ userId: b.userId, monthlyTokens: null })}
                    >
                      {t('usageClear')}
                    </RowDangerButton>
                  </Table.Td>
                )}
              </Table.Tr>
            ))
      }
    >
      {manage && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (userId) put.mutate({ userId, monthlyTokens: tokensOf(tokens) });
          }}
          noValidate
        >
          <Group align="flex-end">
            <Select
              label={t('usageMember')}
              data={(members.data?.items ?? []).map((m) => ({ value: m.userId, label: m.email }))}
              value={userId}
              onChange={setUserId}
              searchable
              w={280}
            />
            <NumberInput
              label={t('usageBudget')}
              value={tokens}
              onChange={setTokens}
              min={0}
              allowDecimal={false}
              error={byField.monthlyTokens}
              w={180}
            />
            <Button type="submit" disabled={!userId} loading={put.isPending}>
              {t('usageSetBudget')}
            </Button>
          </Group>
          <ErrorText error={rest} />
        </form>
      )}
    </ListSection>
  );
}

function Boosts({ orgId, manage }: { orgId: string; manage: boolean }) {
  const { t } = useTranslation();
  const { number: n, dateTime } = useFormat();
  const client = useQueryClient();
  const list = useQuery({
    queryKey: ['quota-boosts', orgId],
    queryFn: () => api<{ items: QuotaBoostView[] }>('GET', `/orgs/${orgId}/quota-boosts`),
  });
  const [tokens, setTokens] = useState<string | number>('');
  const add = useMutation({
    mutationFn: () => api('POST', `/orgs/${orgId}/quota-boosts`, { tokens: tokensOf(tokens) }),
    onSuccess: async () => {
      notify(t('usageBoostAdded'));
      setTokens('');
      await Promise.all([
        client.invalidateQueries({ queryKey: ['quota-boosts', orgId] }),
        client.invalidateQueries({ queryKey: ['usage', orgId] }),
      ]);
    },
  });
  const { byField, rest } = fieldErrors(t, add.error, ['tokens']);
  const items = list.data?.items ?? [];
  return (
    <ListSection
      title={t('usageBoosts')}
      testId="quota-boosts"
      help={t('usageBoostsHelp')}
      empty={t('usageNoBoosts')}
      error={list.error}
      minWidth={480}
      head={
        <Table.Tr>
          <Table.Th ta="right">{t('usageTokens')}</Table.Th>
          <Table.Th>{t('usageAdded')}</Table.Th>
          <Table.Th>{t('usageExpires')}</Table.Th>
          <Table.Th>{t('usageStatus')}</Table.Th>
        </Table.Tr>
      }
      rows={
        items.length === 0
          ? null
          : items.map((b) => (
              <Table.Tr key={b.id}>
                <Table.Td ta="right">{n(b.tokens)}</Table.Td>
                <Table.Td>{dateTime(b.createdAt)}</Table.Td>
                <Table.Td>{dateTime(b.expiresAt)}</Table.Td>
                <Table.Td>{b.active ? t('usageActive') : t('usageExpired')}</Table.Td>
              </Table.Tr>
            ))
      }
    >
      {manage && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate();
          }}
          noValidate
        >
          <Group align="flex-end">
            <NumberInput
              label={t('usageTokens')}
              value={tokens}
              onChange={setTokens}
              min={1}
              max={1_000_000}
              allowDecimal={false}
              error={byField.tokens}
              w={180}
            />
            <Button type="submit" disabled={tokens === ''} loading={add.isPending}>
              {t('usageAddBoost')}
            </Button>
          </Group>
          <ErrorText error={rest} />
        </form>
      )}
    </ListSection>
  );
}
