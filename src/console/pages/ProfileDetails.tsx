import {
  Button,
  Card,
  Group,
  SimpleGrid,
  Stack,
  TagsInput,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Organization } from '../../contracts/wire.ts';
import { api } from '../api.ts';
import { useFormat } from '../format.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { orgQuery } from '../queries.ts';

/** The organization profile's details: name, slug, description, addresses; saved together. */

const FIELDS = [
  'name',
  'slug',
  'description',
  'contactEmail',
  'website',
  'industry',
  'teamEmails',
  'invoiceRecipients',
] as const;

/** The editable profile fields, as the form holds them (absent values are empty). */
interface ProfileForm {
  name: string;
  slug: string;
  description: string;
  contactEmail: string;
  website: string;
  industry: string;
  teamEmails: string[];
  invoiceRecipients: string[];
}

/** Tags as typed or pasted, one address each: split on commas, semicolons and spaces; no repeats. */
const addresses = (tags: string[]) => [
  ...new Set(tags.flatMap((tag) => tag.split(/[,;\s]+/)).filter((a) => a !== '')),
];

const fromOrg = (org: Organization): ProfileForm => ({
  name: org.name,
  slug: org.slug,
  description: org.description ?? '',
  contactEmail: org.contactEmail ?? '',
  website: org.website ?? '',
  industry: org.industry ?? '',
  teamEmails: org.teamEmails,
  invoiceRecipients: org.invoiceRecipients,
});

/** The PATCH body: only the fields that differ from the saved profile; emptied optional fields become null. */
function changesOf(form: ProfileForm, org: Organization): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (form.name.trim() !== org.name) body.name = form.name;
  if (form.slug.trim() !== org.slug) body.slug = form.slug.trim();
  for (const key of ['description', 'contactEmail', 'website', 'industry'] as const) {
    const value = form[key].trim() === '' ? null : form[key].trim();
    if (value !== org[key]) body[key] = value;
  }
  for (const key of ['teamEmails', 'invoiceRecipients'] as const) {
    if (form[key].join('\n') !== org[key].join('\n')) body[key] = form[key];
  }
  return body;
}

export function DetailsSection({ org, canEdit }: { org: Organization; canEdit: boolean }) {
  const { t } = useTranslation();
  const when = useFormat().dateTime;
  const client = useQueryClient();
  const headingId = useId();
  const [form, setForm] = useState(() => fromOrg(org));
  const body = changesOf(form, org);
  const dirty = Object.keys(body).length > 0;
  const save = useMutation({
    mutationFn: (changes: Record<string, unknown>) => api<Organization>('PATCH', `/orgs/${org.id}`, changes),
    onSuccess: async (updated, changes) => {
      client.setQueryData(orgQuery(org.id).queryKey, updated);
      setForm(fromOrg(updated));
      notify(t('profileSaved'));
      // The org switcher shows names, and memberships carry slugs.
      if ('name' in changes || 'slug' in changes) await client.invalidateQueries({ queryKey: ['me'] });
    },
  });
  const { byField: errors, rest } = fieldErrors(t, save.error, FIELDS, {
    body: save.variables,
    rules: {
      slug: t('profileSlugInvalid'),
      name: t('profileNameInvalid'),
      industry: t('profileIndustryInvalid'),
    },
    conflicts: { slug_taken: t('profileSlugTaken') },
  });
  const edit = <K extends keyof ProfileForm>(key: K, value: ProfileForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (canEdit && dirty) save.mutate(body);
  };
  const readOnly = !canEdit;
  return (
    <Card withBorder component="section" aria-labelledby={headingId}>
      {/* The server validates every field; its answers are shown under the fields they concern. */}
      <form onSubmit={onSubmit} noValidate>
        <Stack>
          <Title order={2} size="h4" id={headingId}>
            {t('profileDetails')}
          </Title>
          {readOnly && <Text>{t('profileReadOnly')}</Text>}
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              label={t('name')}
              required={canEdit}
              readOnly={readOnly}
              variant={readOnly ? 'filled' : 'default'}
              maxLength={100}
              value={form.name}
              error={errors.name}
              onChange={(e) => edit('name', e.currentTarget.value)}
            />
            <TextInput
              label={t('profileSlug')}
              description={canEdit ? t('profileSlugHelp') : undefined}
              required={canEdit}
              readOnly={readOnly}
              variant={readOnly ? 'filled' : 'default'}
              maxLength={40}
              autoCapitalize="none"
              spellCheck={false}
              value={form.slug}
              error={errors.slug}
              onChange={(e) => edit('slug', e.currentTarget.value)}
            />
          </SimpleGrid>
          <Textarea
            label={t('profileDescription')}
            readOnly={readOnly}
            variant={readOnly ? 'filled' : 'default'}
            autosize
            minRows={3}
            maxRows={10}
            maxLength={1000}
            value={form.description}
            error={errors.description}
            onChange={(e) => edit('description', e.currentTarget.value)}
          />
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              label={t('profileContactEmail')}
              type="email"
              readOnly={readOnly}
              variant={readOnly ? 'filled' : 'default'}
              maxLength={254}
              value={form.contactEmail}
              error={errors.contactEmail}
              onChange={(e) => edit('contactEmail', e.currentTarget.value)}
            />
            <TextInput
              label={t('profileWebsite')}
              description={canEdit ? t('profileWebsiteHelp') : undefined}
              type="url"
              readOnly={readOnly}
              variant={readOnly ? 'filled' : 'default'}
              maxLength={2048}
              value={form.website}
              error={errors.website}
              onChange={(e) => edit('website', e.currentTarget.value)}
            />
            <TextInput
              label={t('profileIndustry')}
              readOnly={readOnly}
              variant={readOnly ? 'filled' : 'default'}
              maxLength={100}
              value={form.industry}
              error={errors.industry}
              onChange={(e) => edit('industry', e.currentTarget.value)}
            />
          </SimpleGrid>
          <TagsInput
            label={t('profileTeamEmails')}
            description={canEdit ? t('profileTeamEmailsHelp') : undefined}
            readOnly={readOnly}
            variant={readOnly ? 'filled' : 'default'}
            splitChars={[',', ' ', ';']}
            maxTags={50}
            value={form.teamEmails}
            error={errors.teamEmails}
            onChange={(v) => edit('teamEmails', addresses(v))}
          />
          <TagsInput
            label={t('profileInvoiceRecipients')}
            description={canEdit ? t('profileInvoiceRecipientsHelp') : undefined}
            readOnly={readOnly}
            variant={readOnly ? 'filled' : 'default'}
            splitChars={[',', ' ', ';']}
            maxTags={20}
            value={form.invoiceRecipients}
            error={errors.invoiceRecipients}
            onChange={(v) => edit('invoiceRecipients', addresses(v))}
          />
          <SimpleGrid cols={{ base: 1, sm: 3 }}>
            <TextInput label={t('profilePlan')} readOnly variant="filled" value={org.entitlements.name} />
            <TextInput label={t('created')} readOnly variant="filled" value={when(org.createdAt)} />
            <TextInput label={t('profileUpdated')} readOnly variant="filled" value={when(org.updatedAt)} />
          </SimpleGrid>
          <ErrorText error={rest} />
          {canEdit && (
            <Group>
              <Button type="submit" disabled={!dirty} loading={save.isPending}>
                {t('profileSave')}
              </Button>
              <Button
                variant="default"
                disabled={!dirty || save.isPending}
                onClick={() => {
                  setForm(fromOrg(org));
                  save.reset();
                }}
              >
                {t('profileDiscard')}
              </Button>
            </Group>
          )}
        </Stack>
      </form>
    </Card>
  );
}
