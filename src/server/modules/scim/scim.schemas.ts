// What the service provider says of itself (RFC 7643 §5–7): its features, resource types and schemas.
import { ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from './scim.resources.ts';

const CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

export function serviceProviderConfig(base: string, maxResults: number) {
  return {
    schemas: [CONFIG_SCHEMA],
    documentationUri: `${base.replace(/\/scim\/v2$/, '')}/docs`,
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'A SCIM token of the organization, sent as `Authorization: Bearer scim_…`.',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

export function resourceTypes(base: string) {
  return [
    {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      schema: USER_SCHEMA,
      schemaExtensions: [{ schema: ENTERPRISE_SCHEMA, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      schema: GROUP_SCHEMA,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
}

const attribute = (
  name: string,
  extra: {
    type?: string;
    multiValued?: boolean;
    required?: boolean;
    uniqueness?: string;
    subAttributes?: unknown[];
    mutability?: string;
    caseExact?: boolean;
  } = {},
) => ({
  name,
  type: extra.type ?? 'string',
  multiValued: extra.multiValued ?? false,
  required: extra.required ?? false,
  caseExact: extra.caseExact ?? false,
  mutability: extra.mutability ?? 'readWrite',
  returned: 'default',
  uniqueness: extra.uniqueness ?? 'none',
  ...(extra.subAttributes ? { subAttributes: extra.subAttributes } : {}),
});

const multi = (name: string) =>
  attribute(name, {
    type: 'complex',
    multiValued: true,
    subAttributes: [
      attribute('value'),
      attribute('type'),
      attribute('display'),
      attribute('primary', { type: 'boolean' }),
    ],
  });

export function schemaDefinitions(base: string) {
  const meta = (id: string) => ({ resourceType: 'Schema', location: `${base}/Schemas/${id}` });
  return [
    {
      schemas: [SCHEMA_SCHEMA],
      id: USER_SCHEMA,
      name: 'User',
      description: 'A member of the organization',
      attributes: [
        attribute('userName', { required: true, uniqueness: 'server' }),
        attribute('name', {
          type: 'complex',
          subAttributes: [
            'formatted',
            'familyName',
            'givenName',
            'middleName',
            'honorificPrefix',
            'honorificSuffix',
          ].map((n) => attribute(n)),
        }),
        attribute('displayName'),
        attribute('nickName'),
        attribute('profileUrl', { type: 'reference' }),
        attribute('title'),
        attribute('userType'),
        attribute('preferredLanguage'),
        attribute('locale'),
        attribute('timezone'),
        attribute('active', { type: 'boolean' }),
        multi('emails'),
        multi('phoneNumbers'),
        multi('ims'),
        multi('photos'),
        attribute('addresses', {
          type: 'complex',
          multiValued: true,
          subAttributes: [
            'formatted',
            'streetAddress',
            'locality',
            'region',
            'postalCode',
            'country',
            'type',
          ].map((n) => attribute(n)),
        }),
        attribute('groups', {
          type: 'complex',
          multiValued: true,
          mutability: 'readOnly',
          subAttributes: [attribute('value'), attribute('$ref', { type: 'reference' }), attribute('display')],
        }),
        multi('entitlements'),
        multi('roles'),
        multi('x509Certificates'),
      ],
      meta: meta(USER_SCHEMA),
    },
    {
      schemas: [SCHEMA_SCHEMA],
      id: ENTERPRISE_SCHEMA,
      name: 'EnterpriseUser',
      description: 'Enterprise user',
      attributes: [
        ...['employeeNumber', 'costCenter', 'organization', 'division', 'department'].map((n) =>
          attribute(n),
        ),
        attribute('manager', {
          type: 'complex',
          subAttributes: [
            attribute('value'),
            attribute('$ref', { type: 'reference' }),
            attribute('displayName'),
          ],
        }),
      ],
      meta: meta(ENTERPRISE_SCHEMA),
    },
    {
      schemas: [SCHEMA_SCHEMA],
      id: GROUP_SCHEMA,
      name: 'Group',
      description: 'A group of members; SSO group mappings match its displayName',
      attributes: [
        attribute('displayName', { required: true, uniqueness: 'server' }),
        attribute('members', {
          type: 'complex',
          multiValued: true,
          subAttributes: [attribute('value'), attribute('$ref', { type: 'reference' }), attribute('display')],
        }),
      ],
      meta: meta(GROUP_SCHEMA),
    },
  ];
}
