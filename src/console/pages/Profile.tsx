import {
  Alert,
  Box,
  Button,
  Card,
  FileButton,
  Group,
  Image,
  Loader,
  PasswordInput,
  Select,
  SimpleGrid,
  Stack,
  TagsInput,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router';
import { ErrorText, usePermissions } from '../App.tsx';
import { ApiError, api, apiUpload, type Member, type Organization } from '../api.ts';
import { Dialog } from '../components.tsx';
import { useFormat } from '../format.ts';
import { forgetOrg, membersQuery, orgQuery } from '../queries.ts';

type T = ReturnType<typeof useTranslation>['t'];

/** What the server takes for a logo (organizations.routes.ts): the type is also checked from the bytes. */
const LOGO_TYPES = ['image/png', 'image/jpeg'];
const MAX_LOGO_BYTES = 1024 * 1024;

const size = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;

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

/**
 * The server's field errors (`/body/<field>[/<index>]`, plus 409 slug_taken) as sentences under
 * the fields they concern. A field the page does not know keeps the server's own message.
 */
function fieldErrors(error: unknown, t: T, lists: Partial<Record<string, string[]>> = {}) {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError)) return out;
  if (error.code === 'slug_taken') out.slug = t('profileSlugTaken');
  for (const f of error.fields) {
    const [, part, key, index] = f.field.split('/');
    if (part !== 'body' || !key || out[key]) continue;
    const item = index !== undefined ? lists[key]?.[Number(index)] : undefined;
    const known: Record<string, string | undefined> = {
      name: t('profileNameInvalid'),
      slug: t('profileSlugInvalid'),
      description: t('profileDescriptionInvalid'),
      contactEmail: t('profileEmailInvalid'),
      website: t('profileWebsiteInvalid'),
      industry: t('profileIndustryInvalid'),
      teamEmails: item !== undefined ? t('profileEmailListInvalid', { value: item }) : undefined,
      invoiceRecipients: item !== undefined ? t('profileEmailListInvalid', { value: item }) : undefined,
      password: f.message === 'is incorrect' ? t('profileWrongPassword') : undefined,
    };
    out[key] = known[key] ?? f.message;
  }
  return out;
}

/** Settings → Organization → Profile: the org's details and logo, and (for its owner) the danger zone. */
export function ProfilePage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const org = useQuery(orgQuery(orgId));
  const [transferredTo, setTransferredTo] = useState<Member | null>(null);
  const canTransfer = can.has('org:transfer');
  const canDelete = can.has('org:delete');
  return (
    <Stack maw={880}>
      <Title order={1} size="h3">
        {t('profileTitle')}
      </Title>
      {org.isPending && <Loader aria-label={t('profileLoading')} />}
      <ErrorText error={org.error} />
      {transferredTo && (
        <Alert
          color="green"
          role="status"
          withCloseButton
          closeButtonLabel={t('close')}
          onClose={() => setTransferredTo(null)}
        >
          {t('profileTransferred', { name: transferredTo.name })}
        </Alert>
      )}
      {org.data && (
        <>
          <DetailsSection key={org.data.id} org={org.data} canEdit={can.has('settings:update')} />
          <LogoSection org={org.data} canEdit={can.has('settings:update')} />
          {(canTransfer || canDelete) && (
            <DangerZone
              org={org.data}
              canTransfer={canTransfer}
              canDelete={canDelete}
              onTransferred={setTransferredTo}
            />
          )}
        </>
      )}
    </Stack>
  );
}

function DetailsSection({ org, canEdit }: { org: Organization; canEdit: boolean }) {
  const { t } = useTranslation();
  const when = useFormat().dateTime;
  const client = useQueryClient();
  const headingId = useId();
  const [form, setForm] = useState(() => fromOrg(org));
  const [saved, setSaved] = useState(false);
  const body = changesOf(form, org);
  const dirty = Object.keys(body).length > 0;
  const save = useMutation({
    mutationFn: (changes: Record<string, unknown>) => api<Organization>('PATCH', `/orgs/${org.id}`, changes),
    onSuccess: async (updated, changes) => {
      client.setQueryData(orgQuery(org.id).queryKey, updated);
      setForm(fromOrg(updated));
      setSaved(true);
      // The org switcher shows names, and memberships carry slugs.
      if ('name' in changes || 'slug' in changes) await client.invalidateQueries({ queryKey: ['me'] });
    },
  });
  const errors = fieldErrors(save.error, t, {
    teamEmails: form.teamEmails,
    invoiceRecipients: form.invoiceRecipients,
  });
  const edit = <K extends keyof ProfileForm>(key: K, value: ProfileForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setSaved(false);
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
          {Object.keys(errors).length === 0 && <ErrorText error={save.error} />}
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
              {saved && !dirty && <Text role="status">{t('profileSaved')}</Text>}
            </Group>
          )}
        </Stack>
      </form>
    </Card>
  );
}

function LogoSection({ org, canEdit }: { org: Organization; canEdit: boolean }) {
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
    onSuccess: refresh,
    onSettled: () => resetFile.current?.(),
  });
  const remove = useMutation({
    mutationFn: () => api('DELETE', `/orgs/${org.id}/logo`),
    onSuccess: refresh,
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
                    loading={remove.isPending}
                    onClick={() => {
                      setProblem(null);
                      upload.reset();
                      remove.mutate();
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
          <ErrorText error={upload.error ?? remove.error} />
        )}
      </Stack>
    </Card>
  );
}

function DangerZone(props: {
  org: Organization;
  canTransfer: boolean;
  canDelete: boolean;
  onTransferred: (to: Member) => void;
}) {
  const { t } = useTranslation();
  const headingId = useId();
  return (
    <Card
      withBorder
      component="section"
      aria-labelledby={headingId}
      style={{ borderColor: 'var(--mantine-color-red-7)' }}
    >
      <Stack gap="lg">
        <Title order={2} size="h4" id={headingId} c="red.9">
          {t('profileDanger')}
        </Title>
        {props.canTransfer && <TransferOwnership org={props.org} onTransferred={props.onTransferred} />}
        {props.canDelete && <DeleteOrganization org={props.org} />}
      </Stack>
    </Card>
  );
}

function TransferOwnership({
  org,
  onTransferred,
}: {
  org: Organization;
  onTransferred: (to: Member) => void;
}) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const headingId = useId();
  // Only an Admin can become owner (the server refuses anyone else with 409).
  const admins = useInfiniteQuery(membersQuery(org.id, new URLSearchParams({ role: 'admin', limit: '200' })));
  const rows = admins.data?.pages.flatMap((p) => p.items) ?? [];
  const [userId, setUserId] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const target = rows.find((m) => m.userId === userId) ?? null;
  const transfer = useMutation({
    mutationFn: (to: Member) =>
      api<{ ownerId: string; previousOwnerId: string }>('POST', `/orgs/${org.id}/ownership-transfer`, {
        userId: to.userId,
      }),
    onSuccess: async (_res, to) => {
      setConfirming(false);
      onTransferred(to);
      // Both roles changed: the signed-in user's permissions, the member list and role counts.
      await Promise.all(
        ['me', 'roles', 'members'].map((key) => client.invalidateQueries({ queryKey: [key] })),
      );
    },
  });
  return (
    <Stack component="section" aria-labelledby={headingId} gap="xs">
      <Title order={3} size="h5" id={headingId}>
        {t('profileTransfer')}
      </Title>
      <Text size="sm">{t('profileTransferHelp')}</Text>
      <ErrorText error={admins.error} />
      {admins.isSuccess && rows.length === 0 ? (
        <Text size="sm">{t('profileTransferNoAdmins')}</Text>
      ) : (
        <Group align="flex-end">
          <Select
            label={t('profileTransferTo')}
            placeholder={t('profileTransferPick')}
            searchable
            w={360}
            data={rows.map((m) => ({ value: m.userId, label: `${m.name} (${m.email})` }))}
            value={userId}
            onChange={(v) => {
              setUserId(v);
              transfer.reset();
            }}
          />
          <Button color="red" variant="outline" disabled={!target} onClick={() => setConfirming(true)}>
            {t('profileTransfer')}
          </Button>
          {admins.hasNextPage && (
            <Button
              variant="default"
              onClick={() => admins.fetchNextPage()}
              loading={admins.isFetchingNextPage}
            >
              {t('loadMore')}
            </Button>
          )}
        </Group>
      )}
      <Dialog
        opened={confirming && target !== null}
        onClose={() => setConfirming(false)}
        title={t('profileTransfer')}
      >
        <Stack>
          <Text>
            {t('profileTransferConfirm', {
              name: target?.name ?? '',
              email: target?.email ?? '',
              org: org.name,
            })}
          </Text>
          <ErrorText error={transfer.error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirming(false)}>
              {t('cancel')}
            </Button>
            <Button
              color="red"
              loading={transfer.isPending}
              onClick={() => target && transfer.mutate(target)}
            >
              {t('profileTransfer')}
            </Button>
          </Group>
        </Stack>
      </Dialog>
    </Stack>
  );
}

function DeleteOrganization({ org }: { org: Organization }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const navigate = useNavigate();
  const headingId = useId();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [password, setPassword] = useState('');
  const del = useMutation({
    mutationFn: () => api('DELETE', `/orgs/${org.id}`, { password }),
    onSuccess: async () => {
      setPassword('');
      // The membership is gone: the layout leaves the org's pages once /me says so.
      await client.invalidateQueries({ queryKey: ['me'] });
      navigate('/', { replace: true });
      // Nothing of the deleted org is worth keeping (and nothing shows it any more).
      forgetOrg(client, org.id);
    },
  });
  const close = () => {
    setOpen(false);
    setTyped('');
    setPassword('');
    del.reset();
  };
  const errors = fieldErrors(del.error, t);
  const matches = typed === org.name;
  return (
    <Stack component="section" aria-labelledby={headingId} gap="xs">
      <Title order={3} size="h5" id={headingId}>
        {t('profileDelete')}
      </Title>
      <Text size="sm">{t('profileDeleteHelp')}</Text>
      <Group>
        <Button color="red" onClick={() => setOpen(true)}>
          {t('profileDelete')}
        </Button>
      </Group>
      <Dialog opened={open} onClose={close} title={t('profileDeleteConfirmTitle', { name: org.name })}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (matches && password) del.mutate();
          }}
        >
          <Stack>
            <Text>{t('profileDeleteHelp')}</Text>
            <TextInput
              label={t('profileDeleteTypeName', { name: org.name })}
              autoComplete="off"
              spellCheck={false}
              value={typed}
              onChange={(e) => setTyped(e.currentTarget.value)}
            />
            <PasswordInput
              label={t('profileDeletePassword')}
              autoComplete="current-password"
              value={password}
              error={errors.password}
              aria-invalid={errors.password ? true : undefined}
              onChange={(e) => {
                setPassword(e.currentTarget.value);
                if (del.error) del.reset();
              }}
            />
            {!errors.password && <ErrorText error={del.error} />}
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                {t('cancel')}
              </Button>
              <Button type="submit" color="red" disabled={!matches || !password} loading={del.isPending}>
                {t('profileDeleteSubmit')}
              </Button>
            </Group>
          </Stack>
        </form>
      </Dialog>
    </Stack>
  );
}
