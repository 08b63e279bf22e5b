import { Badge, Group, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { FINDING_SEVERITIES } from '../../contracts/findings.ts';
import type { CountedSeverity, ScanView, SeverityCounts } from '../../contracts/scans.ts';

/** The severities a scan counts, most severe first. */
export const COUNTED: readonly CountedSeverity[] = FINDING_SEVERITIES;

// Dark enough for white text at 4.5:1 and more; the word is always there beside the color.
const SEVERITY_COLOR: Record<CountedSeverity, string> = {
  critical: '#b91c1c',
  high: '#9a3412',
  medium: '#854d0e',
  low: '#4b5563',
};

/** A scan's findings by severity: small badges, each with its word, read as one sentence. */
export function SeverityCountBadges({ counts }: { counts: SeverityCounts }) {
  const { t } = useTranslation();
  return (
    <Group gap={4} wrap="nowrap" role="img" aria-label={t('scansCountsLabel', { ...counts })}>
      {COUNTED.map((s) => (
        <Badge
          maw="none"
          key={s}
          // None of a severity is drawn quietly, so the ones present stand out.
          color={counts[s] > 0 ? SEVERITY_COLOR[s] : 'gray.6'}
          c={counts[s] > 0 ? 'white' : 'gray.8'}
          variant={counts[s] > 0 ? 'filled' : 'outline'}
          title={t(`scansSeverity_${s}`)}
          aria-hidden="true"
        >
          {counts[s]} {t(`scansSeverity_${s}`).charAt(0)}
        </Badge>
      ))}
    </Group>
  );
}

/** One finding's severity as a badge. */
export function SeverityBadge({ severity }: { severity: CountedSeverity }) {
  const { t } = useTranslation();
  return (
    <Badge maw="none" color={SEVERITY_COLOR[severity]} c="white" variant="filled">
      {t(`scansSeverity_${severity}`)}
    </Badge>
  );
}

/** Passed or failed, in words, with a color that repeats them. */
export function PolicyBadge({ policy }: { policy: ScanView['policy'] }) {
  const { t } = useTranslation();
  return policy.passed ? (
    <Badge maw="none" color="#166534" c="white" variant="filled">
      {t('scansPolicyPassed')}
    </Badge>
  ) : (
    <Badge maw="none" color="#b91c1c" c="white" variant="filled">
      {t('scansPolicyFailed')}
    </Badge>
  );
}

/** The modules of a scan, in the reader's words. */
export function ModuleList({ modules }: { modules: readonly string[] }) {
  const { t } = useTranslation();
  return <Text size="sm">{modules.map((m) => t(`scansModule_${m}`, { defaultValue: m })).join(', ')}</Text>;
}

/** Who created a scan: their email (shown with members:read), an API token, or an account whose email is not shown (or gone since). */
export function creatorOf(t: (key: string) => string, scan: ScanView): string {
  const who = scan.createdBy?.email ?? (scan.createdBy ? t('scansNobody') : '');
  if (scan.viaToken) return who ? `${who} (${t('scansViaToken')})` : t('scansViaToken');
  return who || t('scansNobody');
}

/** A file size in the reader's units (KiB, MiB). */
export function fileSize(bytes: number, number: (n: number) => string): string {
  if (bytes < 1024) return `${number(bytes)} B`;
  if (bytes < 1024 * 1024) return `${number(Math.round(bytes / 102.4) / 10)} KiB`;
  return `${number(Math.round(bytes / (1024 * 104.8576)) / 10)} MiB`;
}
