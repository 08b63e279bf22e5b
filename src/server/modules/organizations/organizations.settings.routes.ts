import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DATE_FORMATS, REMEDIATION_LANGUAGES, SCAN_SCHEDULES } from '../../../contracts/settings.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import { assertFound } from '../../platform/errors/app-error.ts';
import { Nullable, OrgParams, problemResponses } from '../../platform/http/schemas.ts';
import { findLocalization, findPlatformSettings } from './organizations.repository.ts';
import {
  presentLocalization,
  presentPlatform,
  updateLocalization,
  updatePlatformSettings,
} from './organizations.settings.ts';

/** One of `values` (a JSON-schema enum, typed as their union). */
const literals = <T extends string>(values: readonly T[], description?: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });

const platformFields = {
  scanSchedule: literals(SCAN_SCHEDULES, 'Scheduled scans: a scan.scheduled event per application'),
  scanScheduleDay: Type.Integer({
    minimum: 1,
    maximum: 28,
    description: 'Weekly: ISO weekday, 1 (Monday) to 7 (Sunday); monthly: day of the month, 1 to 28',
  }),
  scanScheduleHour: Type.Integer({
    minimum: 0,
    maximum: 23,
    description: "Hour of the day in the organization's time zone (UTC when it has none)",
  }),
  autonomousScanning: Type.Boolean({ description: 'A new application is scanned at once' }),
  fixVerification: Type.Boolean({ description: 'Test-driven validation of fixes (Scale and Enterprise)' }),
  deepAiEnrichment: Type.Boolean({ description: 'High-confidence AI analysis (Enterprise)' }),
  remediationLanguage: literals(REMEDIATION_LANGUAGES, 'The language of AI-written fixes and summaries'),
};

const Platform = Type.Object({
  ...platformFields,
  nextScheduledScanAt: Nullable(Type.String({ format: 'date-time' })),
});

const localizationFields = {
  language: literals(
    ['en', 'es'] as const,
    "Members' console and email language, unless they chose their own",
  ),
  timezone: Nullable(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'IANA time zone for times in the console and reports; null: each member’s own',
    }),
  ),
  dateFormat: literals(DATE_FORMATS, '`locale`: as the reader’s language writes dates; or a fixed order'),
};

const Localization = Type.Object(localizationFields);

const partial = <P extends Record<string, import('typebox').TSchema>>(fields: P) =>
  Type.Object(
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Type.Optional(v)])) as {
      [K in keyof P]: import('typebox').TOptional<P[K]>;
    },
    { additionalProperties: false, minProperties: 1 },
  );

/** Settings → Platform and Settings → Language. */
export function settingsRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database } = app.gatehouse;

  r.get(
    '/api/v1/orgs/:orgId/settings/platform',
    {
      config: { permission: 'settings:read' },
      schema: {
        tags: ['settings'],
        summary:
          'Platform configuration: scan schedule, autonomous scanning, fix verification, AI enrichment',
        params: OrgParams,
        response: { 200: Platform, ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const row = await findPlatformSettings(database.db, requestOrgId(request));
      assertFound(row, 'organization');
      return presentPlatform(row);
    },
  );

  r.patch(
    '/api/v1/orgs/:orgId/settings/platform',
    {
      config: { command: updatePlatformSettings },
      schema: {
        tags: ['settings'],
        summary: 'Change the platform configuration',
        description:
          'Turning on fix verification needs Scale or Enterprise, deep AI enrichment Enterprise (403 plan_limit); turning them off is always allowed. A weekly schedule takes days 1–7.',
        params: OrgParams,
        body: partial(platformFields),
        response: { 200: Platform, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      presentPlatform(await commands.run(updatePlatformSettings, request.invocation(), request.body)),
  );

  r.get(
    '/api/v1/orgs/:orgId/settings/localization',
    {
      config: { permission: 'settings:read' },
      schema: {
        tags: ['settings'],
        summary: "The organization's language, time zone and date format",
        description: 'Every member also reads them in GET /me (memberships[].org.localization).',
        params: OrgParams,
        response: { 200: Localization, ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const row = await findLocalization(database.db, requestOrgId(request));
      assertFound(row, 'organization');
      return presentLocalization(row);
    },
  );

  r.patch(
    '/api/v1/orgs/:orgId/settings/localization',
    {
      config: { command: updateLocalization },
      schema: {
        tags: ['settings'],
        summary: 'Change the language, time zone or date format of members without a choice of their own',
        params: OrgParams,
        body: partial(localizationFields),
        response: { 200: Localization, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      presentLocalization(await commands.run(updateLocalization, request.invocation(), request.body)),
  );
}
