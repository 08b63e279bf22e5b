import {
  Anchor,
  Badge,
  Box,
  Button,
  Group,
  Stack,
  Text,
  UnstyledButton,
  VisuallyHidden,
} from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import type { InboxItem, InboxPage } from '../contracts/notifications.ts';
import { api } from './api.ts';
import { Disclosure } from './disclosure.tsx';
import { useFormat } from './format.ts';
import { notify } from './notify.tsx';
import { ErrorText } from './problems.tsx';

/** The newest notifications and the unread count, as the bell shows them (re-read every minute). */
export const bellQuery = queryOptions({
  queryKey: ['inbox', 'bell'],
  queryFn: () => api<InboxPage>('GET', '/me/inbox?limit=8'),
  refetchInterval: 60_000,
});

/** Marking read, one or all: every cached read of the inbox is read again. */
export function useMarkRead() {
  const client = useQueryClient();
  const { t } = useTranslation();
  const refresh = () => client.invalidateQueries({ queryKey: ['inbox'] });
  const one = useMutation({
    mutationFn: (id: string) => api<InboxItem>('POST', `/me/inbox/${id}/read`),
    onSuccess: refresh,
  });
  const all = useMutation({
    mutationFn: () => api<{ marked: number }>('POST', '/me/inbox/read-all'),
    onSuccess: async () => {
      notify(t('notifAllMarked'));
      await refresh();
    },
  });
  return { one, all };
}

/** One notification in a list: its title (a link to what it is about, marking it read), body, time. */
export function InboxEntry(props: { item: InboxItem; onOpen?: () => void; compact?: boolean }) {
  const { item } = props;
  const { t } = useTranslation();
  const format = useFormat();
  const navigate = useNavigate();
  const { one } = useMarkRead();
  const unread = item.readAt === null;
  const open = () => {
    if (unread) one.mutate(item.id);
    props.onOpen?.();
    if (item.link) navigate(item.link);
  };
  return (
    <Group
      component="li"
      align="flex-start"
      wrap="nowrap"
      gap="xs"
      p={6}
      bg={unread ? 'var(--mantine-color-blue-0)' : undefined}
      style={{ borderRadius: 4 }}
    >
      <Stack gap={2} style={{ flex: 1, minWidth: 0 }}>
        <Group gap={6} wrap="nowrap">
          {unread && (
            <>
              <Box aria-hidden="true" w={8} h={8} bg="blue.8" style={{ borderRadius: '50%', flex: 'none' }} />
              <VisuallyHidden>{t('notifUnreadLabel')}</VisuallyHidden>
            </>
          )}
          <UnstyledButton onClick={open} style={{ minWidth: 0 }}>
            <Text size="sm" fw={unread ? 700 : 400} td="underline" style={{ overflowWrap: 'anywhere' }}>
              {item.title}
            </Text>
          </UnstyledButton>
        </Group>
        {!props.compact && (
          <Text size="sm" style={{ whiteSpace: 'pre-line', overflowWrap: 'anywhere' }}>
            {item.body}
          </Text>
        )}
        <Text size="xs" c="gray.7">
          <time dateTime={item.createdAt}>{format.dateTime(item.createdAt)}</time>
        </Text>
      </Stack>
      {unread && (
        <Button
          size="compact-xs"
          variant="subtle"
          aria-label={t('notifMarkReadOf', { title: item.title })}
          loading={one.isPending}
          onClick={() => one.mutate(item.id)}
        >
          {t('notifMarkRead')}
        </Button>
      )}
    </Group>
  );
}

/** A bell, drawn (not an emoji: a browser without an emoji font shows a blank box). */
function BellIcon() {
  return (
    <svg
      aria-hidden="true"
      width="18"
      height="18"
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
    >
      <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" strokeLinecap="round" strokeLinejoin="round" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

/**
 * The bell in the header: how many notifications are unread, and a panel with the newest ones,
 * marking one or all read, and the way to the whole inbox of `orgId`'s settings.
 */
export function NotificationBell({ orgId }: { orgId: string | undefined }) {
  const { t } = useTranslation();
  const inbox = useQuery(bellQuery);
  const { all } = useMarkRead();
  const unread = inbox.data?.unread ?? 0;
  return (
    <Disclosure
      label={unread > 0 ? t('notifBellUnread', { count: unread }) : t('notifBell')}
      align="right"
      panelWidth={340}
      maw={120}
      buttonText={
        <Group gap={4} wrap="nowrap">
          <BellIcon />
          {unread > 0 && (
            <Badge size="sm" color="red.8" variant="filled" aria-hidden="true" data-testid="unread-count">
              {unread > 99 ? '99+' : unread}
            </Badge>
          )}
        </Group>
      }
    >
      {(close) => (
        <Stack gap={6} p={6} maw={360}>
          <Group justify="space-between" wrap="nowrap">
            <Text fw={700} size="sm">
              {t('notifBell')}
            </Text>
            {unread > 0 && (
              <Button
                size="compact-xs"
                variant="default"
                loading={all.isPending}
                onClick={() => all.mutate()}
              >
                {t('notifMarkAllRead')}
              </Button>
            )}
          </Group>
          {inbox.isPending && <Text size="sm">{t('notifBellLoading')}</Text>}
          <ErrorText error={inbox.error ?? all.error} />
          {inbox.data && inbox.data.items.length === 0 && <Text size="sm">{t('notifBellEmpty')}</Text>}
          {inbox.data && inbox.data.items.length > 0 && (
            <Box component="ul" m={0} p={0} style={{ listStyle: 'none', maxHeight: 420, overflowY: 'auto' }}>
              {inbox.data.items.map((item) => (
                <InboxEntry key={item.id} item={item} onOpen={close} compact />
              ))}
            </Box>
          )}
          {orgId && (
            <Anchor component={Link} to={`/orgs/${orgId}/settings/inbox`} size="sm" onClick={close}>
              {t('notifSeeAll')}
            </Anchor>
          )}
        </Stack>
      )}
    </Disclosure>
  );
}
