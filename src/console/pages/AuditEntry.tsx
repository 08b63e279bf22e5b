import { Button, Code, Stack, Table, Text } from '@mantine/core';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import {
  type AuditEvent,
  type AuditWords,
  actionLabel,
  actorWords,
  changeRows,
  summaryWords,
  targetWords,
} from '../audit-words.ts';
import { Dialog } from '../components.tsx';

/**
 * One audit entry in full: who, what, when and from where in words, its before/after field by
 * field, and the stored entry itself (hashes included) a click away.
 */
export function AuditEntryDialog(props: {
  entry: AuditEvent | null;
  words: AuditWords;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const { entry, words } = props;
  return (
    <Dialog
      size="xl"
      opened={entry !== null}
      onClose={props.onClose}
      title={entry ? `#${entry.seq} ${actionLabel(t, entry.action)}` : ''}
    >
      {/* Keyed: another entry opens with its raw JSON folded again. */}
      {entry && <EntryBody key={entry.id} entry={entry} words={words} />}
    </Dialog>
  );
}

function EntryBody({ entry: e, words }: { entry: AuditEvent; words: AuditWords }) {
  const { t } = useTranslation();
  const [raw, setRaw] = useState(false);
  const rawId = useId();
  const rows = changeRows(e, words);
  const summary = summaryWords(e, words);
  const facts: Array<[string, string]> = [
    [t('time'), words.format.dateTime(e.occurredAt)],
    [t('actor'), actorWords(e, words)],
    [t('action'), `${actionLabel(t, e.action)} (${e.action})`],
    [t('target'), targetWords(e, words)],
    ...(summary ? ([[t('auditSummary'), summary]] as Array<[string, string]>) : []),
    [t('auditIp'), e.ip ?? t('auditNone')],
    [t('auditUserAgent'), e.userAgent ?? t('auditNone')],
    [t('auditRequestId'), e.requestId ?? t('auditNone')],
  ];
  return (
    <Stack data-testid="audit-entry-words">
      <Table variant="vertical" layout="fixed" withTableBorder>
        <Table.Tbody>
          {facts.map(([label, value]) => (
            <Table.Tr key={label}>
              <Table.Th w={160}>{label}</Table.Th>
              <Table.Td style={{ overflowWrap: 'anywhere' }}>{value}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {rows.length > 0 && (
        <Table withTableBorder captionSide="top" data-testid="audit-entry-changes">
          <Table.Caption>{t('auditChanges')}</Table.Caption>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('auditField')}</Table.Th>
              <Table.Th>{t('auditBefore')}</Table.Th>
              <Table.Th>{t('auditAfter')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr
                key={r.field}
                fw={r.changed && r.before !== null && r.after !== null ? 700 : undefined}
              >
                <Table.Th scope="row" fw="inherit">
                  {r.label}
                </Table.Th>
                <Table.Td style={{ overflowWrap: 'anywhere' }}>{r.before ?? t('auditNone')}</Table.Td>
                <Table.Td style={{ overflowWrap: 'anywhere' }}>{r.after ?? t('auditNone')}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {rows.length === 0 && <Text c="gray.7">{t('auditNoChanges')}</Text>}
      <div>
        <Button
          variant="default"
          aria-expanded={raw}
          aria-controls={raw ? rawId : undefined}
          onClick={() => setRaw((x) => !x)}
        >
          {raw ? t('auditHideRaw') : t('auditShowRaw')}
        </Button>
      </div>
      {raw && (
        // Focusable: a long entry scrolls, and the keyboard must reach it.
        <Code block tabIndex={0} id={rawId} data-testid="audit-entry">
          {JSON.stringify(e, null, 2)}
        </Code>
      )}
    </Stack>
  );
}
