import { CloseButton, Paper, Text } from '@mantine/core';
import { useSyncExternalStore } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * The one way the console says a change succeeded: `notify('Invitation sent.')` from anywhere,
 * and <Notifications /> (rendered once, by App) shows it in a live region that screen readers
 * announce (role=status, polite), for a few seconds or until closed.
 */
interface Note {
  id: number;
  message: string;
}

let notes: Note[] = [];
let next = 1;
const listeners = new Set<() => void>();
const emit = () => {
  for (const l of listeners) l();
};

const SHOWN_MS = 6000;

export function notify(message: string): void {
  const id = next++;
  notes = [...notes.slice(-2), { id, message }];
  emit();
  setTimeout(() => dismiss(id), SHOWN_MS);
}

function dismiss(id: number): void {
  notes = notes.filter((n) => n.id !== id);
  emit();
}

const subscribe = (listener: () => void) => {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
};

export function Notifications() {
  const { t } = useTranslation();
  const shown = useSyncExternalStore(subscribe, () => notes);
  // The region stays in the page while empty: a live region added with its text is often not read.
  return (
    <div
      role="status"
      aria-live="polite"
      data-testid="notifications"
      style={{
        position: 'fixed',
        right: 16,
        bottom: 16,
        left: 16,
        zIndex: 400,
        display: 'flex',
        flexDirection: 'column',
        alignItems: 'flex-end',
        gap: 8,
        pointerEvents: 'none',
      }}
    >
      {shown.map((n) => (
        <Paper
          key={n.id}
          withBorder
          shadow="md"
          p="sm"
          maw={420}
          style={{
            pointerEvents: 'auto',
            display: 'flex',
            gap: 8,
            alignItems: 'center',
            borderLeft: '4px solid var(--mantine-color-green-8)',
          }}
        >
          <Text size="sm">{n.message}</Text>
          <CloseButton size="sm" aria-label={t('close')} onClick={() => dismiss(n.id)} />
        </Paper>
      ))}
    </div>
  );
}
