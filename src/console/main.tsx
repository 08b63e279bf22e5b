import '@mantine/core/styles.css';
import { createTheme, MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { App } from './App.tsx';
import './i18n.ts';
import { prefetchForLocation } from './queries.ts';

// The darker blue keeps white-on-primary and link text above WCAG AA contrast (4.5:1).
const theme = createTheme({ primaryShade: { light: 8, dark: 8 } });

// Data is fresh for a while: a page that mounts another reader of a query (the layout and the page
// both read /me) does not fetch it again. Writes invalidate what they change.
const queries = new QueryClient({
  defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false, staleTime: 30_000 } },
});

prefetchForLocation(queries, window.location.pathname);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme}>
      <QueryClientProvider client={queries}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
