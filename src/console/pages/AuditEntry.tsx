import { Anchor, Button, Code, Stack, Table, Text } from '@mantine/core';
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
import { Dialog, ScrollFrame } from '../components.tsx';

/**
 * Audit entries as rows in words: number (opens the entry), time, actor, action, target, the change
 * in a line and the IP. With `filterBy`, an actor or a target is a button that filters by it.
 */
export function AuditEntriesTable(props: {
  /** The table's name, for the frame it scrolls in at narrow widths. */
  label: string;
  entries: readonly AuditEvent[];
  words: AuditWords;
  onShow: (entry: AuditEvent) => void;
  filterBy?: (field: 'actorId' | 'targetId', id: string) => void;
}) {
  const { t } = useTranslation();
  const { words, filterBy } = props;
  const filterButton = (field: 'actorId' | 'targetId', id: string | null, title: string, label: string) =>
    filterBy && id ? (
      <Anchor component="button" type="button" title={title} onClick={() => filterBy(field, id)}>
        {label}
      </Anchor>
    ) : (
      label
    );
  return (
    <ScrollFrame label={props.label} minWidth={860}>
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>#</Table.Th>
            <Table.Th>{t('time')}</Table.Th>
            <Table.Th>{t('actor')}</Table.Th>
            <Table.Th>{t('action')}</Table.Th>
            <Table.Th>{t('target')}</Table.Th>
            <Table.Th>{t('auditSummary')}</Table.Th>
            <Table.Th>{t('auditIp')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {props.entries.map((e) => (
            <Table.Tr key={e.id}>
              <Table.Td>
                <Anchor
                  component="button"
                  type="button"
                  onClick={() => props.onShow(e)}
                  aria-label={t('auditShow', { seq: e.seq })}
                >
                  {e.seq}
                </Anchor>
              </Table.Td>
              <Table.Td>{words.format.dateTime(e.occurredAt)}</Table.Td>
              <Table.Td>
                {filterButton('actorId', e.actor.id, t('auditByActor'), actorWords(e, words))}
              </Table.Td>
              {/* The label in words; the action itself stays as data and as the cell's title. */}
              <Table.Td data-action={e.action} title={e.action}>
                {actionLabel(t, e.action)}
              </Table.Td>
              <Table.Td>
                {filterButton('targetId', e.target.id, t('auditByTarget'), targetWords(e, words))}
              </Table.Td>
              <Table.Td>{summaryWords(e, words)}</Table.Td>
              <Table.Td>{e.ip}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </ScrollFrame>
  );
}

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
