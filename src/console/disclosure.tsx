import { Box, Button, Paper } from '@mantine/core';
import { type ReactNode, useEffect, useId, useRef, useState } from 'react';

/**
 * A button that shows a panel (a disclosure: moving elsewhere is a deliberate click, never a side
 * effect of arrowing through a list). Escape or a click elsewhere closes it.
 */
export function Disclosure(props: {
  label: string;
  children: (close: () => void) => ReactNode;
  buttonText: ReactNode;
  align?: 'left' | 'right';
  maw?: number;
  /** The panel's least width (default 240 px). */
  panelWidth?: number;
}) {
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const away = (e: Event) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !box.current?.contains(e.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('keydown', away);
    document.addEventListener('pointerdown', away);
    return () => {
      document.removeEventListener('keydown', away);
      document.removeEventListener('pointerdown', away);
    };
  }, [open]);
  return (
    <Box ref={box} pos="relative">
      <Button
        variant="default"
        aria-expanded={open}
        aria-controls={open ? panelId : undefined}
        aria-label={props.label}
        rightSection={<span aria-hidden="true">▾</span>}
        maw={props.maw ?? 220}
        onClick={() => setOpen((o) => !o)}
      >
        {props.buttonText}
      </Button>
      {open && (
        <Paper
          id={panelId}
          withBorder
          shadow="md"
          p={4}
          miw={props.panelWidth ?? 240}
          maw="calc(100vw - 16px)"
          pos="absolute"
          top="calc(100% + 4px)"
          {...(props.align === 'right' ? { right: 0 } : { left: 0 })}
          style={{ zIndex: 200 }}
        >
          {props.children(() => setOpen(false))}
        </Paper>
      )}
    </Box>
  );
}
