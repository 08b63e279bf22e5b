import { Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { PasskeysSection } from './AccountPasskeys.tsx';

/** Settings → Account → Security: how the signed-in user signs in (passkeys). */
export function AccountSecurityPage() {
  const { t } = useTranslation();
  return (
    <Stack gap="xl">
      <Stack gap={4}>
        <Title order={1} size="h3">
          {t('accountSecurityTitle')}
        </Title>
        <Text>{t('accountSecurityIntro')}</Text>
      </Stack>
      <PasskeysSection />
    </Stack>
  );
}
