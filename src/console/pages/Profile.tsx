import { Loader, Stack, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { usePermissions } from '../hooks.ts';
import { ErrorText } from '../problems.tsx';
import { orgQuery } from '../queries.ts';
import { DangerZone } from './ProfileDanger.tsx';
import { DetailsSection } from './ProfileDetails.tsx';
import { LogoSection } from './ProfileLogo.tsx';

/** Settings → Organization → Profile: the org's details and logo, and (for its owner) the danger zone. */
export function ProfilePage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const org = useQuery(orgQuery(orgId));
  const canTransfer = can.has('org:transfer');
  const canDelete = can.has('org:delete');
  return (
    <Stack maw={880}>
      <Title order={1} size="h3">
        {t('profileTitle')}
      </Title>
      {org.isPending && <Loader aria-label={t('profileLoading')} />}
      <ErrorText error={org.error} />
      {org.data && (
        <>
          <DetailsSection key={org.data.id} org={org.data} canEdit={can.has('settings:update')} />
          <LogoSection org={org.data} canEdit={can.has('settings:update')} />
          {(canTransfer || canDelete) && (
            <DangerZone org={org.data} canTransfer={canTransfer} canDelete={canDelete} />
          )}
        </>
      )}
    </Stack>
  );
}
