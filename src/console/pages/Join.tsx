import { Button, Card, Center, Group, Stack, Text, Title } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../api.ts';
import { SignInFirst } from '../components.tsx';
import { useLinkToken, useMe } from '../hooks.ts';
import { SignedInPage } from '../layout.tsx';
import { notify } from '../notify.tsx';
import { rememberJoinRequest } from '../org-memory.ts';
import { ErrorText } from '../problems.tsx';

/**
 * A share link (`/join#token=…`): sign in or create an account, then ask to join. The token travels
 * in the fragment (no server sees it in a URL) and waits in this tab's storage across sign-in.
 */
export function JoinPage() {
  const { t } = useTranslation();
  const me = useMe();
  const token = useLinkToken('gatehouse.join');
  const ask = useMutation({
    mutationFn: () => api<{ org: { name: string } }>('POST', '/join-requests', { token }),
    onSuccess: (res) => {
      sessionStorage.removeItem('gatehouse.join');
      // Until approved the user has no org; the console's start page explains why.
      if (me.data) rememberJoinRequest(me.data.user.id, res.org.name);
      notify(t('joinSent', { org: res.org.name }));
    },
  });
  const body = (
    <Stack>
      <Title order={1} size="h3">
        {t('joinTitle')}
      </Title>
      {!token ? (
        <Text>{t('joinNoLink')}</Text>
      ) : ask.data ? (
        <>
          <Text>{t('joinSent', { org: ask.data.org.name })}</Text>
          <Text>{t('shellJoinNext')}</Text>
          <Group>
            <Button component={Link} to="/">
              {t('shellToConsole')}
            </Button>
          </Group>
        </>
      ) : (
        <>
          <Text>{t('joinHelp')}</Text>
          <ErrorText error={ask.error} />
          {me.data === null && <SignInFirst back="/join" />}
          {me.data && (
            <Button onClick={() => ask.mutate()} loading={ask.isPending}>
              {t('joinAsk')}
            </Button>
          )}
        </>
      )}
    </Stack>
  );
  return me.data ? <SignedInPage>{body}</SignedInPage> : <SignedOutCard>{body}</SignedOutCard>;
}

function SignedOutCard({ children }: { children: ReactNode }) {
  return (
    <Center mih="100vh" p="sm">
      <Card withBorder w={460} maw="100%" p="lg" component="main">
        {children}
      </Card>
    </Center>
  );
}
