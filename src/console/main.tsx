import '@mantine/core/styles.css';
import '@mantine/charts/styles.css';
import { type CSSVariablesResolver, createTheme, MantineProvider } from '@mantine/core';
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { App } from './App.tsx';
import { ApiError, type Me } from './api.ts';
import './i18n.ts';
import { meQuery, prefetchForLocation } from './queries.ts';

// The darker blue keeps white-on-primary and link text above WCAG AA contrast (4.5:1).
// Animations follow the system's "reduce motion" setting.
const theme = createTheme({ primaryShade: { light: 8, dark: 8 }, respectReducedMotion: true });
// Error text and dimmed text (field help, secondary lines) darker than Mantine's defaults, which
// fall below AA contrast on white.
const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    '--mantine-color-error': 'var(--mantine-color-red-9)',
    '--mantine-color-dimmed': 'var(--mantine-color-gray-7)',
  },
  dark: {},
});

// A refusal for want of a permission means what the page believed of the user's role is out of
// date (someone changed it), and "not found" may mean the user was removed from the org: read /me
// again, so the page shows what they may do now (or, removed, explains it).
const onError = (error: Error) => {
  if (
    error instanceof ApiError &&
    ((error.status === 403 && error.code === 'permission_denied') || error.code === 'not_found')
  ) {
    void queries.invalidateQueries({ queryKey: meQuery.queryKey });
  }
};

// Data is fresh for a while: a page that mounts another reader of a query (the layout and the page
// both read /me) does not fetch it again. Writes invalidate what they change.
const queries = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false, staleTime: 30_000 } },
});

// Whenever the signed-in user changes (signed out, session ended elsewhere, someone else signed in),
// nothing read as the previous one stays: every other query is dropped.
let signedIn: string | null | undefined;
queries.getQueryCache().subscribe((event) => {
  if (event.type !== 'updated' || event.query.queryKey[0] !== meQuery.queryKey[0]) return;
  const me = event.query.state.data as Me | null | undefined;
  if (me === undefined) return;
  const id = me?.user.id ?? null;
  if (signedIn !== undefined && id !== signedIn) {
    queries.removeQueries({ predicate: (q) => q.queryKey[0] !== meQuery.queryKey[0] });
  }
  signedIn = id;
});

prefetchForLocation(queries, window.location.pathname);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={cssVariablesResolver}>
      <QueryClientProvider client={queries}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
