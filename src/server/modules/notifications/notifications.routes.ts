import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { isTimeZone } from '../../../contracts/locales.ts';
import { EMAIL_DIGESTS, NOTIFICATION_TYPES } from '../../../contracts/notifications.ts';
import { NotFoundError, UnauthenticatedError, ValidationError } from '../../platform/errors/app-error.ts';
import { decodeCursor, encodeCursor, PageQuery } from '../../platform/http/paging.ts';
import { DateTime, Nullable, problemResponses, Uuid } from '../../platform/http/schemas.ts';
import { type PreferencesChange, updateNotificationPreferences } from './notifications.commands.ts';
import { languageOf } from './notifications.messages.ts';
import { resolvePreferences, zoneOf } from './notifications.preferences.ts';
import { presentInboxItem } from './notifications.queries.ts';
import {
  countUnread,
  findPreferences,
  listInbox,
  markAllRead,
  markRead,
} from './notifications.repository.ts';
import { HHMM, minutesOf } from './notifications.schedule.ts';
import { E164 } from './notifications.sms.ts';

const Switches = Type.Object(
  { email: Type.Boolean(), inApp: Type.Boolean() },
  { additionalProperties: false },
);
const PartialSwitches = Type.Object(
  { email: Type.Optional(Type.Boolean()), inApp: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
const Digest = Type.Union(
  EMAIL_DIGESTS.map((d) => Type.Literal(d)),
  { description: 'immediate: one email each; daily or weekly: one digest per period; off: no email' },
);
const Clock = Type.String({ pattern: HHMM.source, description: 'HH:MM, 24-hour clock' });
const QuietHours = Nullable(
  Type.Object(
    { start: Clock, end: Clock },
    {
      additionalProperties: false,
      description:
        "In the user's time zone; may run past midnight (22:00–07:00). Immediate emails due inside wait until the end.",
    },
  ),
);

export const NotificationPreferencesSchema = Type.Object(
  {
    emailDigest: Digest,
    quietHours: QuietHours,
    timeZone: Type.String({ description: "The user's IANA time zone (UTC until they choose one)" }),
    types: Type.Object(Object.fromEntries(NOTIFICATION_TYPES.map((t) => [t, Switches]))),
    phone: Nullable(Type.String({ description: 'E.164; critical alerts by SMS where the plan has SMS' })),
  },
  { $id: 'NotificationPreferences' },
);

export const InboxItemSchema = Type.Object(
  {
    id: Uuid,
    type: Type.String(),
    orgId: Uuid,
    title: Type.String(),
    body: Type.String(),
    link: Nullable(Type.String()),
    createdAt: DateTime,
    readAt: Nullable(DateTime),
  },
  { $id: 'InboxItem' },
);

const own = { authenticated: true, sessionOnly: true } as const;

function userOf(request: FastifyRequest) {
  const user = request.session?.user;
  if (!user || request.actor.type !== 'user') throw new UnauthenticatedError();
  return user;
}

export function notificationsRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database } = app.gatehouse;

  r.get(
    '/api/v1/me/notifications',
    {
      config: own,
      schema: {
        tags: ['notifications'],
        summary: 'Your notification preferences',
        response: { 200: Type.Ref('NotificationPreferences'), ...problemResponses(401, 403) },
      },
    },
    async (request) => {
      const user = userOf(request);
      const prefs = resolvePreferences(await findPreferences(database.db, user.id));
      return { ...prefs, timeZone: zoneOf(user.timezone) };
    },
  );

  r.patch(
    '/api/v1/me/notifications',
    {
      config: { ...own, command: updateNotificationPreferences },
      schema: {
        tags: ['notifications'],
        summary: 'Change your notification preferences',
        description:
          'Only the fields sent change; in `types`, only the switches sent. `timeZone` sets your profile’s time zone (the one quiet hours and digests are read in).',
        body: Type.Object(
          {
            emailDigest: Type.Optional(Digest),
            quietHours: Type.Optional(QuietHours),
            timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            types: Type.Optional(
              Type.Object(
                Object.fromEntries(NOTIFICATION_TYPES.map((t) => [t, Type.Optional(PartialSwitches)])),
                { additionalProperties: false },
              ),
            ),
            phone: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Ref('NotificationPreferences'), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      userOf(request);
      const body = request.body as PreferencesChange & { phone?: string | null };
      const errors = [];
      if (body.timeZone !== undefined && !isTimeZone(body.timeZone)) {
        errors.push({ field: '/body/timeZone', message: 'must be an IANA time zone such as Europe/Madrid' });
      }
      if (body.quietHours && minutesOf(body.quietHours.start) === minutesOf(body.quietHours.end)) {
        errors.push({
          field: '/body/quietHours/end',
          message: 'must differ from the start (no quiet hours: null)',
        });
      }
      let phone = body.phone;
      if (typeof phone === 'string') {
        // Spaces, dots, dashes and brackets people type are dropped; what remains must be E.164.
        phone = phone.replace(/[\s().-]/g, '');
        if (phone === '') phone = null;
        else if (!E164.test(phone)) {
          errors.push({
            field: '/body/phone',
            message: 'must be an international number in E.164 form, such as +34600111222',
            reason: 'e164',
          });
        }
      }
      if (errors.length > 0) throw new ValidationError(errors);
      return commands.run(updateNotificationPreferences, request.invocation(), {
        ...body,
        ...(phone !== undefined ? { phone } : {}),
      });
    },
  );

  r.get(
    '/api/v1/me/inbox',
    {
      config: own,
      schema: {
        tags: ['notifications'],
        summary: 'Your notifications, newest first',
        description:
          'Notifications of organizations you are still a member of. `unread` counts the unread ones in the whole inbox (also in the `x-unread-count` header).',
        querystring: Type.Object(
          {
            ...PageQuery,
            unread: Type.Optional(Type.Boolean({ description: 'Only the unread ones' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('InboxItem')),
            nextCursor: Nullable(Type.String()),
            unread: Type.Integer(),
          }),
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const user = userOf(request);
      const limit = request.query.limit ?? 50;
      const after = decodeCursor(request.query.cursor);
      const rows = await listInbox(database.db, user.id, {
        unread: request.query.unread === true,
        limit: limit + 1,
        ...(after ? { after } : {}),
      });
      const unread = await countUnread(database.db, user.id);
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      const lang = languageOf(user.locale);
      reply.header('x-unread-count', String(unread));
      return {
        items: page.map((row) => presentInboxItem(row, lang)),
        nextCursor: more && page.length > 0 ? encodeCursor(page[page.length - 1]!) : null,
        unread,
      };
    },
  );

  r.post(
    '/api/v1/me/inbox/:id/read',
    {
      // Reading a notification is not a change anyone audits: no command.
      config: { ...own, command: [] },
      schema: {
        tags: ['notifications'],
        summary: 'Mark one of your notifications read',
        params: Type.Object({ id: Uuid }),
        response: { 200: Type.Ref('InboxItem'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const user = userOf(request);
      // Another person's notification is as unknown as one that never existed.
      const row = await markRead(database.db, user.id, request.params.id);
      if (!row) throw new NotFoundError('notification');
      return presentInboxItem(row, languageOf(user.locale));
    },
  );

  r.post(
    '/api/v1/me/inbox/read-all',
    {
      config: { ...own, command: [] },
      schema: {
        tags: ['notifications'],
        summary: 'Mark all your notifications read',
        response: { 200: Type.Object({ marked: Type.Integer() }), ...problemResponses(401, 403) },
      },
    },
    async (request) => {
      const user = userOf(request);
      return { marked: await markAllRead(database.db, user.id) };
    },
  );
}
