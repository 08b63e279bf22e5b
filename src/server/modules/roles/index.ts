import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { PERMISSION_DESCRIPTIONS, PERMISSIONS } from '../../../contracts/permissions.ts';
import { problemResponses } from '../../platform/http/schemas.ts';

const PermissionList = Type.Object({
  items: Type.Array(
    Type.Object({
      key: Type.String({ description: '`resource:action`' }),
      resource: Type.String(),
      action: Type.String(),
      description: Type.String(),
    }),
  ),
  nextCursor: Type.Null(),
});

const catalog = {
  items: PERMISSIONS.map((key) => {
    const [resource, action] = key.split(':') as [string, string];
    return { key, resource, action, description: PERMISSION_DESCRIPTIONS[key] };
  }),
  nextCursor: null,
};

/** Roles and permissions. The catalog is fixed by the product; org roles build on it. */
export async function rolesModule(app: FastifyInstance): Promise<void> {
  app.get(
    '/api/v1/permissions',
    {
      config: { authenticated: true },
      schema: {
        tags: ['roles'],
        summary: 'The permission catalog',
        response: { 200: PermissionList, ...problemResponses(401) },
      },
    },
    async () => catalog,
  );
}
