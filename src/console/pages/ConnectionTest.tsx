import { Alert, Code, Group, Stack, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { ConnectionTestResult } from '../../contracts/integrations.ts';
import { useFormat } from '../format.ts';

/**
 * A connection test's outcome in the page's language: what happened (from the server's `code`),
 * the HTTP status and the time it took, and the service's own message as it gave it. `model` names
 * the model a `model_not_found` is about; `azure` words a 404 for Azure OpenAI.
 */
export function TestOutcome({
  result,
  model,
  azure,
  when,
}: {
  result: ConnectionTestResult;
  model?: string;
  azure?: boolean;
  /** Show when it ran (a test kept from before, not one just run). */
  when?: boolean;
}) {
  const { t } = useTranslation();
  const format = useFormat();
  const key = result.code === 'not_found' && azure ? 'connTest_not_found_azure' : `connTest_${result.code}`;
  return (
    <Alert color={result.ok ? 'green' : 'orange'} role="status" data-testid="connection-test">
      <Stack gap={4}>
        {/* In the body's own (dark) colour: an alert's coloured title is too faint to read. */}
        <Text size="sm" fw={600}>
          {t(key, { ms: result.latencyMs, status: result.status ?? '', model: model ?? '' })}
        </Text>
        <Group gap="lg">
          <Text size="sm">
            {t('connTestStatus')}: {result.status ?? t('connTestNoAnswer')}
          </Text>
          <Text size="sm">
            {t('connTestLatency')}: {t('connTestMs', { ms: result.latencyMs })}
          </Text>
          {when && <Text size="sm">{t('connTestWhen', { when: format.dateTime(result.testedAt) })}</Text>}
        </Group>
        {result.providerMessage && (
          <Stack gap={2}>
            <Text size="sm" fw={500}>
              {t('connTestSaid')}
            </Text>
            <Code block data-testid="connection-test-message" style={{ whiteSpace: 'pre-wrap' }}>
              {result.providerMessage}
            </Code>
          </Stack>
        )}
      </Stack>
    </Alert>
  );
}
