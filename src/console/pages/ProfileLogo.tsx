import { Alert, Box, Button, Card, FileButton, Group, Image, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Organization } from '../../contracts/wire.ts';
import { ApiError, api, apiUpload } from '../api.ts';
import { ConfirmDialog } from '../components.tsx';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';
import { orgQuery } from '../queries.ts';

/** What the server takes for a logo (organizations.routes.ts): the type is also checked from the bytes. */
const LOGO_TYPES = ['image/png', 'image/jpeg'];
const MAX_LOGO_BYTES = 1024 * 1024;

const size = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;

export function LogoSection({ org, canEdit }: { org: Organization; canEdit: boolean }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const headingId = useId();
  const helpId = useId();
  const resetFile = useRef<() => void>(null);
  const [problem, setProblem] = useState<string | null>(null);
  // A new logo changes the profile's logoUrl (its ?v= version), so the <img> loads the new one.
  const refresh = () => client.invalidateQueries({ queryKey: orgQuery(org.id).queryKey });
  const upload = useMutation({
    mutationFn: (file: File) => apiUpload('PUT', `/orgs/${org.id}/logo`, file, file.type),
    onSuccess: async () => {
      notify(t('profileLogoSaved'));
      await refresh();
    },
    onSettled: () => resetFile.current?.(),
  });
  const [removing, setRemoving] = useState(false);
  const remove = useMutation({
    mutationFn: () => api('DELETE', `/orgs/${org.id}/logo`),
    onSuccess: async () => {
      setRemoving(false);
      notify(t('profileLogoRemoved'));
      await refresh();
    },
  });
  const pick = (file: File | null) => {
    setProblem(null);
    upload.reset();
    remove.reset();
    if (!file) return;
    // Checked here to spare a useless upload; the server checks again, from the bytes.
    const refused = !LOGO_TYPES.includes(file.type)
      ? t('profileLogoWrongType')
      : file.size > MAX_LOGO_BYTES
        ? t('profileLogoTooBig', { size: size(file.size) })
        : null;
    if (refused) {
      setProblem(refused);
      resetFile.current?.();
    } else {
      upload.mutate(file);
    }
  };
  const uploadError = upload.error instanceof ApiError ? upload.error : null;
  const known =
    uploadError?.code === 'payload_too_large'
      ? t('profileLogoTooBig', { size: '> 1 MiB' })
      : uploadError?.code === 'unsupported_media_type'
        ? t('profileLogoWrongType')
        : uploadError?.code === 'validation_failed'
          ? t('profileLogoNotImage')
          : null;
  const message = problem ?? known;
  return (
    <Card withBorder component="section" aria-labelledby={headingId}>
      <Stack>
        <Title order={2} size="h4" id={headingId}>
          {t('profileLogo')}
        </Title>
        <Group align="center">
          <Box
            w={96}
            h={96}
            style={{
              border: '1px solid var(--mantine-color-gray-4)',
              borderRadius: 'var(--mantine-radius-sm)',
              display: 'flex',
              alignItems: 'center',
              justifyContent: 'center',
            }}
          >
            {org.logoUrl ? (
              // Same-origin path: the console's CSP (img-src 'self') lets it load, with the session cookie.
              <Image
                src={org.logoUrl}
                alt={t('profileLogoAlt', { name: org.name })}
                w={94}
                h={94}
                fit="contain"
                data-testid="org-logo"
              />
            ) : (
              <Text size="sm" ta="center">
                {t('profileNoLogo')}
              </Text>
            )}
          </Box>
          {canEdit && (
            <Stack gap="xs">
              <Group>
                <FileButton onChange={pick} accept={LOGO_TYPES.join(',')} resetRef={resetFile}>
                  {(props) => (
                    <Button {...props} loading={upload.isPending} aria-describedby={helpId}>
                      {org.logoUrl ? t('profileLogoReplace') : t('profileLogoUpload')}
                    </Button>
                  )}
                </FileButton>
                {org.logoUrl && (
                  <Button
                    variant="default"
                    color="red"
                    onClick={() => {
                      setProblem(null);
                      upload.reset();
                      setRemoving(true);
                    }}
                  >
                    {t('profileLogoRemove')}
                  </Button>
                )}
              </Group>
              <Text size="sm" id={helpId}>
                {t('profileLogoHelp')}
              </Text>
            </Stack>
          )}
        </Group>
        {message ? (
          <Alert color="red" role="alert">
            {message}
          </Alert>
        ) : (
          <ErrorText error={upload.error} />
        )}
      </Stack>
      <ConfirmDialog
        opened={removing}
        title={t('profileLogoRemoveTitle')}
        message={t('profileLogoRemoveConfirm', { name: org.name })}
        confirmLabel={t('profileLogoRemove')}
        onCancel={() => {
          setRemoving(false);
          remove.reset();
        }}
        onConfirm={() => remove.mutate()}
        loading={remove.isPending}
        error={remove.error}
      />
    </Card>
  );
}
