import { Anchor, Box, Button, Group, SegmentedControl, Stack, Text, Title } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import type { InboxPage as InboxAnswer, InboxItem } from '../../contracts/notifications.ts';
import { api } from '../api.ts';
import { PageLoader } from '../components.tsx';
import { InboxEntry, useMarkRead } from '../notification-bell.tsx';
import { ErrorText } from '../problems.tsx';

/** Every notification of the signed-in user, newest first, all or only the unread ones. */
export function InboxPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const [show, setShow] = useState<'all' | 'unread'>('all');
  const inbox = useInfiniteQuery({
    queryKey: ['inbox', 'page', show],
    queryFn: ({ pageParam }) =>
      api<InboxAnswer>(
        'GET',
        `/me/inbox?limit=50${show === 'unread' ? '&unread=true' : ''}${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`,
      ),
    initialPageParam: '',
    getNextPageParam: (last: InboxAnswer) => last.nextCursor ?? undefined,
  });
  const { all } = useMarkRead();
  const items: InboxItem[] = inbox.data?.pages.flatMap((p) => p.items) ?? [];
  const unread = inbox.data?.pages[0]?.unread ?? 0;
  return (
    <Stack maw={760}>
      <Title order={1} size="h3">
        {t('notifInboxTitle')}
      </Title>
      <Text>{t('notifInboxIntro')}</Text>
      <Group justify="space-between">
        <SegmentedControl
          aria-label={t('notifShow')}
          value={show}
          onChange={(v) => setShow(v as 'all' | 'unread')}
          data={[
            { value: 'all', label: t('notifShowAll') },
            { value: 'unread', label: t('notifShowUnread') },
          ]}
        />
        <Group>
          <Anchor component={Link} to={`/orgs/${orgId}/settings/account/notifications`} size="sm">
            {t('notifPreferencesLink')}
          </Anchor>
          <Button
            variant="default"
            disabled={unread === 0}
            loading={all.isPending}
            onClick={() => all.mutate()}
          >
            {t('notifMarkAllRead')}
          </Button>
        </Group>
      </Group>
      {inbox.isPending && <PageLoader label={t('notifBellLoading')} />}
      <ErrorText error={inbox.error ?? all.error} />
      {inbox.data && items.length === 0 && (
        <Text>{show === 'unread' ? t('notifNoneUnread') : t('notifBellEmpty')}</Text>
      )}
      {items.length > 0 && (
        <Box component="ul" m={0} p={0} style={{ listStyle: 'none' }}>
          {items.map((item) => (
            <InboxEntry key={item.id} item={item} />
          ))}
        </Box>
      )}
      {inbox.hasNextPage && (
        <Group>
          <Button
            variant="default"
            loading={inbox.isFetchingNextPage}
            onClick={() => void inbox.fetchNextPage()}
          >
            {t('loadMore')}
          </Button>
        </Group>
      )}
    </Stack>
  );
}
