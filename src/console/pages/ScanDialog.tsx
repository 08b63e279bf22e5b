import { Alert, Button, Checkbox, Group, Input, List, NativeSelect, Stack, Text } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import {
  type ApplicationView,
  SARIF_MEDIA_TYPE,
  SCAN_MODULES,
  SCAN_UPLOAD_LIMIT,
  type ScanCreated,
  type ScanModule,
} from '../../contracts/scans.ts';
import { ApiError, api, apiUpload } from '../api.ts';
import { Dialog } from '../components.tsx';
import { useFormat } from '../format.ts';
import { describeField, describeProblem, ErrorText, fieldErrors } from '../problems.tsx';
import { moduleCostsQuery } from '../queries.ts';
import { fileSize } from './ScanParts.tsx';

/** A file refused before it is sent, said in words. */
class LocalFileError extends Error {}

/**
 * The server's answer to a log that is not SARIF 2.1.0: the sentence, then where in the file
 * each problem is (its JSON pointer inside the log) and what is wrong there.
 */
function SarifProblem({ error }: { error: ApiError }) {
  const { t } = useTranslation();
  const problem = describeProblem(t, error);
  return (
    <Alert color="red" role="alert" title={problem.title}>
      <Stack gap={4}>
        <Text size="sm">{problem.message}</Text>
        {error.fields.length > 0 && <Text size="sm">{t('scansSarifWhere')}</Text>}
        <List size="sm" data-testid="sarif-errors">
          {error.fields.map((f) => (
            <List.Item key={f.field + f.message}>
              {t('scansSarifAt', {
                // The log was the whole body: what is left of the pointer is inside the file.
                pointer: f.field.replace(/^\/body(\/sarif)?/, '') || '/',
                message: describeField(t, f),
              })}
            </List.Item>
          ))}
        </List>
      </Stack>
    </Alert>
  );
}

/**
 * New scan: an application, its modules (each with its token cost, and the total), and
 * optionally a SARIF file read in the browser and sent as the request body.
 */
export function NewScanDialog(props: {
  orgId: string;
  opened: boolean;
  applications: ApplicationView[];
  initialApplicationId: string;
  onClose: () => void;
  onCreated: (scan: ScanCreated) => void;
}) {
  const { t } = useTranslation();
  const { number } = useFormat();
  const fileId = useId();
  const [applicationId, setApplicationId] = useState('');
  const [modules, setModules] = useState<string[]>(['sast']);
  const [file, setFile] = useState<File | null>(null);
  const costs = useQuery({ ...moduleCostsQuery, enabled: props.opened });
  const chosenApp = applicationId || props.initialApplicationId || props.applications[0]?.id || '';
  const total = costs.data
    ? modules.reduce((sum, m) => sum + (costs.data[m as ScanModule] ?? 0), 0)
    : undefined;
  const create = useMutation({
    mutationFn: async () => {
      const ordered = SCAN_MODULES.filter((m) => modules.includes(m));
      if (!file) {
        return api<ScanCreated>('POST', `/orgs/${props.orgId}/scans`, {
          applicationId: chosenApp,
          modules: ordered,
        });
      }
      if (file.size > SCAN_UPLOAD_LIMIT) {
        throw new LocalFileError(t('scansFileTooLarge', { size: fileSize(file.size, number) }));
      }
      const text = await file.text();
      try {
        JSON.parse(text);
      } catch {
        throw new LocalFileError(t('scansFileNotJson'));
      }
      // The file as it is, as CI sends it: the server's pointers then name places in this file.
      const query = new URLSearchParams({ applicationId: chosenApp });
      for (const m of ordered) query.append('modules', m);
      return apiUpload<ScanCreated>('POST', `/orgs/${props.orgId}/scans?${query}`, text, SARIF_MEDIA_TYPE);
    },
    onSuccess: (scan) => {
      reset();
      props.onCreated(scan);
    },
  });
  const reset = () => {
    setApplicationId('');
    setModules(['sast']);
    setFile(null);
    create.reset();
  };
  const close = () => {
    reset();
    props.onClose();
  };
  const sarifError = create.error instanceof ApiError && create.error.code === 'invalid_sarif';
  const fileError = create.error instanceof LocalFileError ? create.error.message : undefined;
  const { byField, rest } = fieldErrors(t, sarifError || fileError ? null : create.error, [
    'applicationId',
    'modules',
  ]);
  const noApps = props.applications.length === 0;
  return (
    <Dialog opened={props.opened} onClose={close} title={t('scansNewTitle')} size="lg">
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack>
          {noApps && <Text>{t('scansNeedApplication')}</Text>}
          <NativeSelect
            label={t('scansApplication')}
            required
            disabled={noApps}
            data={props.applications.map((a) => ({ value: a.id, label: a.name }))}
            value={chosenApp}
            error={byField.applicationId}
            onChange={(e) => setApplicationId(e.currentTarget.value)}
          />
          <Checkbox.Group
            label={t('scansModules')}
            required
            value={modules}
            onChange={setModules}
            error={byField.modules}
          >
            <Stack gap={6} mt={6}>
              {SCAN_MODULES.map((m) => (
                <Checkbox
                  key={m}
                  value={m}
                  label={
                    costs.data
                      ? `${t(`scansModule_${m}`)} — ${t('scansModuleCost', { count: costs.data[m] })}`
                      : t(`scansModule_${m}`)
                  }
                />
              ))}
            </Stack>
          </Checkbox.Group>
          {total !== undefined ? (
            <Text fw={600} data-testid="scan-total" aria-live="polite">
              {t('scansTotal', { count: total })}
            </Text>
          ) : (
            costs.isError && <Text size="sm">{t('scansCostsUnknown')}</Text>
          )}
          <Input.Wrapper
            label={t('scansFile')}
            description={t('scansFileHelp')}
            error={fileError}
            id={fileId}
          >
            <input
              id={fileId}
              type="file"
              accept=".sarif,.json,application/json,application/sarif+json"
              aria-invalid={fileError ? true : undefined}
              style={{ display: 'block', marginTop: 6 }}
              onChange={(e) => {
                setFile(e.currentTarget.files?.[0] ?? null);
                create.reset();
              }}
            />
          </Input.Wrapper>
          {file && (
            <Text size="sm">
              {t('scansFileChosen', { name: file.name, size: fileSize(file.size, number) })}
            </Text>
          )}
          {sarifError && <SarifProblem error={create.error as ApiError} />}
          <ErrorText error={rest} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              {t('cancel')}
            </Button>
            <Button type="submit" loading={create.isPending} disabled={noApps || modules.length === 0}>
              {t('scansCreate')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Dialog>
  );
}
