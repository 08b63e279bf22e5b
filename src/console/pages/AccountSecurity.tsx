import { Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { useMe } from '../hooks.ts';
import { EmailVerificationBanner } from './AccountEmail.tsx';
import { PasskeysSection } from './AccountPasskeys.tsx';
import { TwoFactorSection } from './AccountTwoFactor.tsx';

/**
 * Settings → Account → Security: how the signed-in user proves who they are. A list of sections,
 * each its own file; nothing here needs an organization permission.
 */
export function AccountSecurityPage() {
  const { t } = useTranslation();
  const user = useMe().data?.user;
  return (
    <Stack gap="xl">
      <Stack gap={4}>
        <Title order={1} size="h3">
          {t('accountSecurity')}
        </Title>
        <Text>{t('securityIntro')}</Text>
      </Stack>
      {user && !user.emailVerified && (
        // Credentials are added only once the address is proven (the server answers email_unverified).
        <Stack gap="xs">
          <Text>{t('securityNeedsVerifiedEmail')}</Text>
          <EmailVerificationBanner user={user} />
        </Stack>
      )}
      <TwoFactorSection />
      <PasskeysSection />
    </Stack>
  );
}
