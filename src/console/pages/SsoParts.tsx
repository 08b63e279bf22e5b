import { Button, Stack, Text } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { SsoProtocol } from '../../contracts/sso.ts';
import { ApiError, api } from '../api.ts';
import { ConfirmDialog } from '../components.tsx';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';
import { oidcQuery, samlQuery, ssoKey } from './sso.shared.ts';

/** What the OIDC and SAML forms share: the protocols' names, the SP's URLs, refusals, Disconnect. */

export const PROTOCOL_NAMES: Record<SsoProtocol, string> = {
  oidc: 'OpenID Connect (OIDC)',
  saml: 'SAML 2.0',
};

/** A refused connection: the problem in words, and the server's own account of what it found. */
export function IdpProblem({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  const fromIdp =
    error instanceof ApiError && (error.code === 'idp_invalid' || error.code === 'idp_unreachable');
  return (
    <Stack gap={4}>
      <ErrorText error={error} words={{ conflict: t('ssoOtherProtocolConnected') }} />
      {fromIdp && error.message && (
        <Text size="sm" data-testid="sso-idp-detail">
          {t('ssoIdpDetail', { detail: error.message })}
        </Text>
      )}
    </Stack>
  );
}

/** Disconnect, after a confirmation that says what it means (and, while enforced, why it is refused). */
export function Disconnect(props: { orgId: string; protocol: SsoProtocol; enforced: boolean }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [asking, setAsking] = useState(false);
  const remove = useMutation({
    mutationFn: () => api('DELETE', `/orgs/${props.orgId}/sso/${props.protocol}`),
    onSuccess: async () => {
      setAsking(false);
      notify(t('ssoDisconnected'));
      client.setQueryData(
        (props.protocol === 'oidc' ? oidcQuery(props.orgId) : samlQuery(props.orgId)).queryKey,
        null,
      );
      await client.invalidateQueries({ queryKey: ssoKey(props.orgId) });
    },
  });
  return (
    <>
      <Button
        variant="subtle"
        color="red"
        onClick={() => {
          remove.reset();
          setAsking(true);
        }}
      >
        {t('ssoDisconnect')}
      </Button>
      <ConfirmDialog
        opened={asking}
        onCancel={() => setAsking(false)}
        title={t('ssoDisconnectTitle', { protocol: PROTOCOL_NAMES[props.protocol] })}
        message={
          <Stack gap="xs">
            <Text>{t('ssoDisconnectConfirm')}</Text>
            {props.enforced && <Text fw={600}>{t('ssoDisconnectEnforced')}</Text>}
          </Stack>
        }
        confirmLabel={t('ssoDisconnect')}
        loading={remove.isPending}
        error={remove.error}
        errorWords={{ conflict: t('ssoDisconnectEnforced') }}
        onConfirm={() => remove.mutate()}
      />
    </>
  );
}
