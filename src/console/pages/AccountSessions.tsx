import { Alert, Badge, Button, Group, Loader, Table, Text, VisuallyHidden } from '@mantine/core';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import type { TFunction } from 'i18next';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Page } from '../../contracts/wire.ts';
import { api } from '../api.ts';
import { ConfirmDialog, RowDangerButton, ScrollFrame, Section } from '../components.tsx';
import { useFormat } from '../format.ts';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';
import { meQuery } from '../queries.ts';

/** Settings → Account → Active sessions: where the account is signed in, and signing any of them out. */

interface SessionView {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

/** Dates and times as everywhere in the console, and the zone they are in (format.ts). */
function useDateTime() {
  const format = useFormat();
  return { format: format.dateTime, zone: format.timeZone };
}

/**
 * A user agent in words: "Firefox 128 on Windows". Only the common browsers and systems are named;
 * the full string stays visible beside it for anything unusual.
 */
function describeAgent(t: TFunction, ua: string | null): string {
  if (!ua) return t('accountUnknownBrowser');
  const browsers: Array<[RegExp, string]> = [
    [/Edg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
    [/OPR\/(\d+)/, 'Opera'],
    [/SamsungBrowser\/(\d+)/, 'Samsung Internet'],
    [/(?:Firefox|FxiOS)\/(\d+)/, 'Firefox'],
    [/HeadlessChrome\/(\d+)/, 'Headless Chrome'],
    [/CriOS\/(\d+)/, 'Chrome'],
    [/Chromium\/(\d+)/, 'Chromium'],
    [/Chrome\/(\d+)/, 'Chrome'],
    [/Version\/(\d+)[\d.]*(?: Mobile\/\S+)? Safari\//, 'Safari'],
    [/^curl\/(\d+)/, 'curl'],
  ];
  const systems: Array<[RegExp, string]> = [
    [/Windows NT/, 'Windows'],
    [/iPad/, 'iPadOS'],
    [/iPhone|iPod/, 'iOS'],
    [/Android/, 'Android'],
    [/CrOS/, 'ChromeOS'],
    [/Macintosh|Mac OS X/, 'macOS'],
    [/Linux/, 'Linux'],
  ];
  let browser: string | undefined;
  for (const [pattern, label] of browsers) {
    const match = pattern.exec(ua);
    if (match) {
      browser = `${label} ${match[1]}`;
      break;
    }
  }
  const os = systems.find(([pattern]) => pattern.test(ua))?.[1];
  if (!browser && !os) return t('accountUnknownBrowser');
  return t('accountAgent', {
    browser: browser ?? t('accountUnknownBrowser'),
    os: os ?? t('accountUnknownOs'),
  });
}

export function SessionsSection() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const when = useDateTime();
  const [revoking, setRevoking] = useState<SessionView | null>(null);
  const sessions = useInfiniteQuery({
    queryKey: ['sessions'],
    queryFn: ({ pageParam }) =>
      api<Page<SessionView>>(
        'GET',
        `/me/sessions?limit=50${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`,
      ),
    initialPageParam: '',
    getNextPageParam: (last: Page<SessionView>) => last.nextCursor ?? undefined,
  });
  const rows = sessions.data?.pages.flatMap((p) => p.items) ?? [];
  const revoke = useMutation({
    mutationFn: (session: SessionView) => api('DELETE', `/me/sessions/${session.id}`),
    onSuccess: async (_res, session) => {
      setRevoking(null);
      // Ending this very session signs the browser out: the sign-in page follows, as after "Sign out".
      // Nothing read as this user is kept for whoever signs in next in this tab.
      if (session.current) {
        // Signed out: every other cached read goes with the user (main.tsx).
        client.setQueryData(meQuery.queryKey, null);
      } else {
        notify(t('accountSessionEnded', { device: device(session) }));
        await client.invalidateQueries({ queryKey: ['sessions'] });
      }
    },
  });
  const close = () => {
    setRevoking(null);
    revoke.reset();
  };
  const device = (s: SessionView) => describeAgent(t, s.userAgent);

  return (
    <Section title={t('accountSessions')}>
      <Text>{t('accountSessionsHelp')}</Text>
      <ErrorText error={sessions.error} />
      {sessions.isPending ? (
        <Loader aria-label={t('accountSessions')} size="sm" />
      ) : (
        <ScrollFrame label={t('accountSessions')} minWidth={640}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('accountDevice')}</Table.Th>
                <Table.Th>{t('accountIp')}</Table.Th>
                <Table.Th>{t('accountSignedIn')}</Table.Th>
                <Table.Th>{t('accountLastSeen')}</Table.Th>
                <Table.Th>
                  <VisuallyHidden>{t('action')}</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((s) => (
                <Table.Tr key={s.id} data-testid={`session-${s.id}`} data-current={s.current || undefined}>
                  <Table.Td>
                    <Group gap="xs">
                      <Text size="sm" fw={500}>
                        {device(s)}
                      </Text>
                      {s.current && <Badge variant="light">{t('accountThisSession')}</Badge>}
                    </Group>
                    {s.userAgent && (
                      <Text size="xs" c="gray.7" style={{ wordBreak: 'break-all' }}>
                        {s.userAgent}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{s.ip ?? t('accountUnknown')}</Table.Td>
                  <Table.Td>{when.format(s.createdAt)}</Table.Td>
                  <Table.Td>{when.format(s.lastSeenAt)}</Table.Td>
                  <Table.Td>
                    <RowDangerButton
                      label={
                        s.current
                          ? t('accountSignOutThis')
                          : t('accountSignOutSession', { device: device(s), when: when.format(s.createdAt) })
                      }
                      onClick={() => setRevoking(s)}
                    >
                      {t('signOut')}
                    </RowDangerButton>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      {sessions.hasNextPage && (
        <Group>
          <Button
            variant="default"
            onClick={() => sessions.fetchNextPage()}
            loading={sessions.isFetchingNextPage}
          >
            {t('loadMore')}
          </Button>
        </Group>
      )}
      <Text size="sm">{t('accountTimesIn', { zone: when.zone })}</Text>
      <ConfirmDialog
        opened={revoking !== null}
        onCancel={close}
        title={t('accountRevokeTitle')}
        message={
          revoking
            ? t('accountRevokeConfirm', {
                device: device(revoking),
                when: when.format(revoking.createdAt),
                ip: revoking.ip ?? t('accountUnknown'),
              })
            : ''
        }
        confirmLabel={t('signOut')}
        loading={revoke.isPending}
        error={revoke.error}
        onConfirm={() => revoking && revoke.mutate(revoking)}
      >
        {revoking?.current && (
          <Alert color="orange" role="note">
            {t('accountRevokeCurrent')}
          </Alert>
        )}
      </ConfirmDialog>
    </Section>
  );
}
