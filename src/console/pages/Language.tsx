import { Button, Card, Group, Select, Stack, Text, Title } from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { DATE_FORMATS, type LocalizationSettings } from '../../contracts/settings.ts';
import { api } from '../api.ts';
import { formatsFor } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { meQuery } from '../queries.ts';

const localizationQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['settings-localization', orgId],
    queryFn: () => api<LocalizationSettings>('GET', `/orgs/${orgId}/settings/localization`),
  });

/** The value of "each member's own zone" in the zone list (a zone name never has a space). */
const OWN_ZONE = 'each member';

/**
 * Settings → Language: the language, time zone and date format of the organization's console
 * (and emails) for members who have not chosen their own in their account. Read-only without
 * settings:update.
 */
export function LanguagePage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const saved = useQuery(localizationQuery(orgId));
  return (
    <Stack maw={720}>
      <Title order={1} size="h3">
        {t('orgLangTitle')}
      </Title>
      <Text>{t('orgLangIntro')}</Text>
      {saved.isPending && !saved.error && <Text role="status">{t('orgLangLoading')}</Text>}
      <ErrorText error={saved.error} />
      {saved.data && (
        <LanguageEditor
          key={JSON.stringify(saved.data)}
          orgId={orgId}
          saved={saved.data}
          canEdit={can.has('settings:update')}
        />
      )}
    </Stack>
  );
}

function LanguageEditor(props: { orgId: string; saved: LocalizationSettings; canEdit: boolean }) {
  const { orgId, saved, canEdit } = props;
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const id = useId();
  const [form, setForm] = useState(saved);
  const zones = useMemo(() => {
    const all = new Set(['UTC', ...Intl.supportedValuesOf('timeZone')]);
    if (saved.timezone) all.add(saved.timezone);
    return [...all];
  }, [saved.timezone]);
  const body: Partial<LocalizationSettings> = {};
  if (form.language !== saved.language) body.language = form.language;
  if (form.timezone !== saved.timezone) body.timezone = form.timezone;
  if (form.dateFormat !== saved.dateFormat) body.dateFormat = form.dateFormat;
  const dirty = Object.keys(body).length > 0;
  const save = useMutation({
    mutationFn: (changes: Partial<LocalizationSettings>) =>
      api<LocalizationSettings>('PATCH', `/orgs/${orgId}/settings/localization`, changes),
    onSuccess: async (updated) => {
      client.setQueryData(localizationQuery(orgId).queryKey, updated);
      // Every member reads the org's language from /me: read it again, so the console follows now.
      await client.invalidateQueries({ queryKey: meQuery.queryKey });
      notify(i18n.t('orgLangSaved'));
    },
  });
  const { byField, rest } = fieldErrors(t, save.error, ['language', 'timezone', 'dateFormat'], {
    body: save.variables,
  });
  const set = (changes: Partial<LocalizationSettings>) => {
    setForm((f) => ({ ...f, ...changes }));
    save.reset();
  };
  // Each order shown on an example date, as the console would write it.
  const example = '2026-12-04T21:05:00Z';
  const sample = (order: string) => formatsFor(form.language, 'UTC', order).date(example);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (canEdit && dirty) save.mutate(body);
  };
  return (
    <Card withBorder component="section" aria-labelledby={id}>
      <form onSubmit={onSubmit} noValidate>
        <Stack>
          <Title order={2} size="h4" id={id}>
            {t('orgLangDefaults')}
          </Title>
          {!canEdit && <Text>{t('orgLangReadOnly')}</Text>}
          <Select
            label={t('orgLangLanguage')}
            description={t('orgLangLanguageHelp')}
            value={form.language}
            allowDeselect={false}
            disabled={!canEdit}
            error={byField.language}
            data={[
              { value: 'en', label: 'English' },
              { value: 'es', label: 'Español' },
            ]}
            onChange={(v) => v && set({ language: v as LocalizationSettings['language'] })}
            maw={320}
          />
          <Select
            label={t('orgLangZone')}
            description={t('orgLangZoneHelp')}
            searchable
            value={form.timezone ?? OWN_ZONE}
            allowDeselect={false}
            disabled={!canEdit}
            error={byField.timezone}
            nothingFoundMessage={t('accountTimezoneNone')}
            data={[{ value: OWN_ZONE, label: t('orgLangZoneOwn') }, ...zones]}
            onChange={(v) => v && set({ timezone: v === OWN_ZONE ? null : v })}
            maw={320}
          />
          <Select
            label={t('orgLangDateFormat')}
            description={t('orgLangDateFormatHelp')}
            value={form.dateFormat}
            allowDeselect={false}
            disabled={!canEdit}
            error={byField.dateFormat}
            data={DATE_FORMATS.map((f) => ({
              value: f,
              label: t(`orgLangDateFormat_${f}`, { example: sample(f) }),
            }))}
            onChange={(v) => v && set({ dateFormat: v as LocalizationSettings['dateFormat'] })}
            maw={320}
          />
          <ErrorText error={rest} />
          {canEdit && (
            <Group>
              <Button type="submit" loading={save.isPending} disabled={!dirty}>
                {t('orgLangSave')}
              </Button>
            </Group>
          )}
        </Stack>
      </form>
    </Card>
  );
}
