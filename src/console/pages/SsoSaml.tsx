import {
  Anchor,
  Button,
  Group,
  SegmentedControl,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { SamlConnectionView, SsoCertificateView, SsoSettingsView } from '../../contracts/sso.ts';
import { api } from '../api.ts';
import { CopyValue, ScrollFrame } from '../components.tsx';
import { useFormat } from '../format.ts';
import { notify } from '../notify.tsx';
import { fieldErrors } from '../problems.tsx';
import { Disconnect, IdpProblem } from './SsoParts.tsx';
import { CERTIFICATE_WARNING_DAYS, daysUntil, samlQuery, ssoKey } from './sso.shared.ts';

type SamlWay = 'xml' | 'url' | 'manual';

/** PEM certificates pasted one after another: each block on its own (the text as is when none is). */
function pemsOf(text: string): string[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (blocks) return blocks;
  return text.trim() === '' ? [] : [text.trim()];
}

/** SAML: this service provider's values to give the IdP, and the IdP's, three ways. */
export function SamlForm(props: {
  orgId: string;
  slug: string;
  saved: SamlConnectionView | null;
  settings: SsoSettingsView;
}) {
  const { orgId, saved } = props;
  const { t } = useTranslation();
  const client = useQueryClient();
  const [way, setWay] = useState<SamlWay>(saved ? (saved.idpMetadataUrl ? 'url' : 'manual') : 'xml');
  const [form, setForm] = useState({
    xml: '',
    url: saved?.idpMetadataUrl ?? '',
    entityId: saved?.idpEntityId ?? '',
    ssoUrl: saved?.idpSsoUrl ?? '',
    certificates: '',
  });
  const body =
    way === 'xml'
      ? { idpMetadataXml: form.xml }
      : way === 'url'
        ? { idpMetadataUrl: form.url.trim() }
        : {
            idpEntityId: form.entityId.trim(),
            idpSsoUrl: form.ssoUrl.trim(),
            idpCertificates: pemsOf(form.certificates),
          };
  const save = useMutation({
    mutationFn: (sent: typeof body) => api<SamlConnectionView>('PUT', `/orgs/${orgId}/sso/saml`, sent),
    onSuccess: async (connection) => {
      client.setQueryData(samlQuery(orgId).queryKey, connection);
      notify(saved ? t('ssoSamlSaved') : t('ssoSamlConnected'));
      await client.invalidateQueries({ queryKey: ssoKey(orgId) });
    },
  });
  const { byField, rest } = fieldErrors(
    t,
    save.error,
    ['idpMetadataXml', 'idpMetadataUrl', 'idpEntityId', 'idpSsoUrl', 'idpCertificates'],
    { body: save.variables },
  );
  const set = (field: keyof typeof form) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setForm((f) => ({ ...f, [field]: value }));
  };
  const wayLabel = useId();
  const urls = saved ?? props.settings.serviceProvider;
  const mono = { input: { fontFamily: 'monospace' } };
  return (
    <Stack gap="sm">
      <Text size="sm">{t('ssoSpHelp')}</Text>
      <CopyValue label={t('ssoSpEntityId')} value={urls.spEntityId} testId="sso-sp-entity-id" />
      <CopyValue label={t('ssoAcsUrl')} value={urls.acsUrl} testId="sso-acs-url" />
      <CopyValue label={t('ssoMetadataUrl')} value={urls.metadataUrl} testId="sso-metadata-url" />
      <Anchor href={urls.metadataUrl} target="_blank" rel="noreferrer" size="sm">
        {t('ssoMetadataOpen')}
      </Anchor>
      {saved && <CurrentIdp saved={saved} />}
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate(body);
        }}
      >
        <Stack gap="sm">
          <Stack gap={4}>
            <Text size="sm" fw={500} id={wayLabel}>
              {saved ? t('ssoSamlReplace') : t('ssoSamlHow')}
            </Text>
            <SegmentedControl
              aria-labelledby={wayLabel}
              value={way}
              onChange={(v) => {
                setWay(v as SamlWay);
                save.reset();
              }}
              data={[
                { value: 'xml', label: t('ssoSamlWayXml') },
                { value: 'url', label: t('ssoSamlWayUrl') },
                { value: 'manual', label: t('ssoSamlWayManual') },
              ]}
            />
          </Stack>
          {way === 'xml' && (
            <Textarea
              label={t('ssoSamlXml')}
              description={t('ssoSamlXmlHelp')}
              autosize
              minRows={6}
              maxRows={16}
              spellCheck={false}
              styles={mono}
              value={form.xml}
              error={byField.idpMetadataXml}
              onChange={set('xml')}
            />
          )}
          {way === 'url' && (
            <TextInput
              label={t('ssoSamlUrl')}
              description={t('ssoSamlUrlHelp')}
              placeholder="https://idp.example.com/metadata"
              spellCheck={false}
              value={form.url}
              error={byField.idpMetadataUrl}
              onChange={set('url')}
            />
          )}
          {way === 'manual' && (
            <>
              <TextInput
                label={t('ssoSamlEntityId')}
                spellCheck={false}
                value={form.entityId}
                error={byField.idpEntityId}
                onChange={set('entityId')}
              />
              <TextInput
                label={t('ssoSamlSsoUrl')}
                description={t('ssoSamlSsoUrlHelp')}
                placeholder="https://idp.example.com/sso"
                spellCheck={false}
                value={form.ssoUrl}
                error={byField.idpSsoUrl}
                onChange={set('ssoUrl')}
              />
              <Textarea
                label={t('ssoSamlCertificates')}
                description={saved ? t('ssoSamlCertificatesAgain') : t('ssoSamlCertificatesHelp')}
                autosize
                minRows={6}
                maxRows={20}
                spellCheck={false}
                styles={mono}
                value={form.certificates}
                error={byField.idpCertificates}
                onChange={set('certificates')}
              />
            </>
          )}
          <IdpProblem error={rest} />
          <Group>
            <Button type="submit" loading={save.isPending}>
              {saved ? t('ssoSave') : t('ssoConnect')}
            </Button>
            {saved && (
              <Disconnect
                orgId={orgId}
                protocol="saml"
                enforced={props.settings.enforcement === 'enforced'}
              />
            )}
          </Group>
        </Stack>
      </form>
    </Stack>
  );
}

/** The connected SAML IdP as saved: its entity ID and URLs, and its certificates with their expiry. */
function CurrentIdp({ saved }: { saved: SamlConnectionView }) {
  const { t } = useTranslation();
  return (
    <Stack gap="xs">
      <Text size="sm">
        <Text span fw={500}>
          {t('ssoSamlEntityId')}:
        </Text>{' '}
        <Text span style={{ wordBreak: 'break-all' }}>
          {saved.idpEntityId}
        </Text>
      </Text>
      <Text size="sm">
        <Text span fw={500}>
          {t('ssoSamlSsoUrl')}:
        </Text>{' '}
        <Text span style={{ wordBreak: 'break-all' }}>
          {saved.idpSsoUrl}
        </Text>
      </Text>
      {saved.idpMetadataUrl && (
        <Text size="sm">
          <Text span fw={500}>
            {t('ssoSamlUrl')}:
          </Text>{' '}
          <Text span style={{ wordBreak: 'break-all' }}>
            {saved.idpMetadataUrl}
          </Text>
        </Text>
      )}
      <Certificates certificates={saved.certificates} />
    </Stack>
  );
}

function Certificates({ certificates }: { certificates: SsoCertificateView[] }) {
  const { t } = useTranslation();
  const { date } = useFormat();
  const state = (c: SsoCertificateView) => {
    const days = daysUntil(c.notAfter);
    if (days < 0) return { label: t('ssoCertExpired'), color: 'red.9' };
    // Darker than Mantine's orange and green, which fall below AA contrast on white.
    if (days <= CERTIFICATE_WARNING_DAYS) {
      return { label: t('ssoCertExpiring', { count: days }), color: '#8f3700' };
    }
    return { label: t('ssoCertValid'), color: '#1b5e20' };
  };
  return (
    <ScrollFrame label={t('ssoCertificates')} minWidth={720}>
      <Table data-testid="sso-certificates" captionSide="top">
        <Table.Caption>{t('ssoCertificates')}</Table.Caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('ssoCertSubject')}</Table.Th>
            <Table.Th>{t('ssoCertFingerprint')}</Table.Th>
            <Table.Th>{t('ssoCertExpires')}</Table.Th>
            <Table.Th>{t('status')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {certificates.map((c) => {
            const s = state(c);
            return (
              <Table.Tr key={c.fingerprintSha256}>
                <Table.Td style={{ wordBreak: 'break-all' }}>{c.subject}</Table.Td>
                <Table.Td>
                  <Text size="xs" ff="monospace" style={{ wordBreak: 'break-all' }}>
                    {c.fingerprintSha256}
                  </Text>
                </Table.Td>
                <Table.Td>{date(c.notAfter)}</Table.Td>
                <Table.Td>
                  <Text size="sm" fw={600} c={s.color}>
                    {s.label}
                  </Text>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </ScrollFrame>
  );
}
