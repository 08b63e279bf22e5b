import { Button, Stack, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api } from './api.ts';
import { ssoLoginHref } from './hooks.ts';
import { ErrorText } from './problems.tsx';

/**
 * The sign-in page's "Sign in with SSO": a work email (its domain) or the organization's slug
 * finds the org's identity provider (POST /auth/sso/discover), and the browser goes there, to
 * come back signed in at `next`.
 */
export function SsoSignIn(props: { email: string; next: string | null; open?: boolean }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(props.open ?? false);
  // Opened by the button: the field is what comes next. Open on arrival: focus stays where it is.
  const [focus, setFocus] = useState(false);
  const [who, setWho] = useState(props.email);
  // Set once the browser is on its way to the IdP: the page stays busy until it has gone.
  const [leaving, setLeaving] = useState(false);
  const discover = useMutation({
    mutationFn: (value: string) =>
      api<{ loginUrl: string; orgSlug: string }>(
        'POST',
        '/auth/sso/discover',
        value.includes('@') ? { email: value } : { orgSlug: value },
      ),
    onSuccess: (res) => {
      setLeaving(true);
      window.location.assign(ssoLoginHref(res.loginUrl, { next: props.next }));
    },
  });
  const invalid =
    (discover.error instanceof ApiError && discover.error.code === 'validation_failed') || undefined;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const value = who.trim();
    if (value !== '') discover.mutate(value);
  };
  if (!open) {
    return (
      <Button
        variant="default"
        onClick={() => {
          setWho((w) => w || props.email);
          setFocus(true);
          setOpen(true);
        }}
      >
        {t('ssoSignInButton')}
      </Button>
    );
  }
  return (
    <form onSubmit={onSubmit} noValidate aria-label={t('ssoSignInButton')}>
      <Stack gap="sm">
        <TextInput
          label={t('ssoSignInWho')}
          description={t('ssoSignInWhoHelp')}
          autoComplete="email"
          autoCapitalize="none"
          spellCheck={false}
          // Only when opened by its button, whose next step the field is.
          autoFocus={focus}
          value={who}
          error={invalid && t('ssoSignInWhoInvalid')}
          onChange={(e) => {
            setWho(e.currentTarget.value);
            if (!discover.isPending) discover.reset();
          }}
        />
        <ErrorText error={invalid ? null : discover.error} words={{ not_found: t('ssoSignInNone') }} />
        <Button type="submit" variant="default" loading={discover.isPending || leaving}>
          {t('ssoSignInContinue')}
        </Button>
      </Stack>
    </form>
  );
}

/**
 * Why a sign-in through the IdP was refused, when the server sent the browser back here with it
 * (`?sso_error=<code>&sso_reason=<reason>`): the problem's own words.
 */
export function SsoRefusal({ code, reason }: { code: string; reason: string | null }) {
  const refusal = new ApiError(400, code, '', [], undefined, undefined, reason ? { reason } : {});
  return <ErrorText error={refusal} />;
}
