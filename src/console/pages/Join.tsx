import { Button, Card, Center, Stack, Text, Title } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorText, SignInFirst, useLinkToken, useMe } from '../App.tsx';
import { api } from '../api.ts';

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
    onSuccess: () => sessionStorage.removeItem('gatehouse.join'),
  });
  return (
    <Center mih="100vh">
      <Card withBorder w={460} p="lg" component="main">
        <Stack>
          <Title order={1} size="h3">
            {t('joinTitle')}
          </Title>
          {!token ? (
            <Text>{t('joinNoLink')}</Text>
          ) : ask.data ? (
            <Text role="status">{t('joinSent', { org: ask.data.org.name })}</Text>
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
      </Card>
    </Center>
  );
}
