import {
  Anchor,
  Button,
  Card,
  Group,
  List,
  Progress,
  Stack,
  Text,
  ThemeIcon,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import type { SetupChecklist as Checklist, SetupStep } from '../../contracts/settings.ts';
import { api } from '../api.ts';
import { usePermissions } from '../hooks.ts';
import { ErrorText } from '../problems.tsx';

export const setupQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['setup', orgId],
    queryFn: () => api<Checklist>('GET', `/orgs/${orgId}/setup`),
  });

/** Where each step is done. */
const STEP_PAGE: Record<SetupStep, string> = {
  logo: 'profile',
  description: 'profile',
  members: 'team',
  api_token: 'api-tokens',
  integration: 'integrations',
  notifications: 'notifications',
  billing: 'billing',
};

/**
 * The setup checklist of a new organization, on its home page: each step ticks itself when what
 * it asks for exists; an admin may hide it for everyone. Shown to members who may read the
 * settings, while a step is left and nobody hid it.
 */
export function SetupChecklist({ orgId }: { orgId: string }) {
  const can = usePermissions(orgId);
  if (!can.has('settings:read')) return null;
  return <ChecklistCard orgId={orgId} canDismiss={can.has('settings:update')} />;
}

function ChecklistCard({ orgId, canDismiss }: { orgId: string; canDismiss: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const client = useQueryClient();
  const checklist = useQuery(setupQuery(orgId));
  const dismiss = useMutation({
    mutationFn: () => api<Checklist>('PUT', `/orgs/${orgId}/setup`, { dismissed: true }),
    onSuccess: (updated) => client.setQueryData(setupQuery(orgId).queryKey, updated),
  });
  const data = checklist.data;
  if (!data || data.dismissed) return null;
  const done = data.steps.filter((s) => s.done).length;
  if (done === data.steps.length) return null;
  return (
    <Card withBorder component="section" aria-labelledby={id} data-testid="setup-checklist">
      <Stack gap="sm">
        <Group justify="space-between" align="flex-start">
          <Stack gap={2}>
            <Title order={2} size="h4" id={id}>
              {t('setupTitle')}
            </Title>
            <Text size="sm">{t('setupProgress', { done, total: data.steps.length })}</Text>
          </Stack>
          {canDismiss && (
            <Button variant="subtle" size="xs" onClick={() => dismiss.mutate()} loading={dismiss.isPending}>
              {t('setupDismiss')}
            </Button>
          )}
        </Group>
        <Progress value={(done / data.steps.length) * 100} aria-label={t('setupTitle')} size="sm" />
        <List spacing={6} listStyleType="none" pl={0}>
          {data.steps.map((step) => (
            <List.Item
              key={step.key}
              data-step={step.key}
              data-done={step.done}
              icon={
                <ThemeIcon size={20} radius="xl" color={step.done ? 'green.8' : 'gray.6'} aria-hidden>
                  {step.done ? '✓' : ''}
                </ThemeIcon>
              }
            >
              {step.done ? (
                <Text span size="sm" td="line-through" c="dimmed">
                  {t(`setupStep_${step.key}`)}
                  <VisuallyHidden>{` (${t('setupDone')})`}</VisuallyHidden>
                </Text>
              ) : (
                <Anchor component={Link} to={`/orgs/${orgId}/settings/${STEP_PAGE[step.key]}`} size="sm">
                  {t(`setupStep_${step.key}`)}
                </Anchor>
              )}
            </List.Item>
          ))}
        </List>
        <ErrorText error={dismiss.error} />
      </Stack>
    </Card>
  );
}
