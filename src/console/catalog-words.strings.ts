import { PERMISSION_DESCRIPTIONS, type Permission } from '../contracts/permissions.ts';
import { BUILTIN_ROLES } from '../contracts/roles.ts';
import type { Strings } from './strings-bundle.ts';

type BuiltinSlug = 'owner' | 'admin' | 'cyberoper' | 'developer' | 'viewer';

const roleWords: Record<'es', Record<BuiltinSlug, { name: string; description: string }>> = {
  es: {
    owner: {
      name: 'Propietario',
      description:
        'Control total, incluidos la facturación, la exportación de datos, la eliminación y la transferencia de la propiedad.',
    },
    admin: {
      name: 'Administrador',
      description: 'Gestiona miembros, roles, configuración, SSO, tokens y el registro de auditoría.',
    },
    cyberoper: {
      name: 'Ciberoperador',
      description: 'Operaciones de seguridad: políticas, integraciones, aplicaciones y escáneres.',
    },
    developer: { name: 'Desarrollador', description: 'Trabaja con escaneos y hallazgos.' },
    viewer: {
      name: 'Lector',
      description: 'Acceso de solo lectura a hallazgos, escaneos, aplicaciones, políticas y miembros.',
    },
  },
};

const permissionEs: Record<Permission, string> = {
  'findings:read': 'Ver hallazgos',
  'findings:update': 'Cambiar el estado, el responsable y los comentarios de los hallazgos',
  'findings:mark_false_positive': 'Marcar hallazgos como falsos positivos',
  'remediations:create': 'Generar remediaciones',
  'remediations:approve': 'Aprobar remediaciones',
  'scans:read': 'Ver escaneos',
  'scans:create': 'Iniciar escaneos y subir resultados',
  'scans:delete': 'Eliminar escaneos',
  'scans:export': 'Exportar resultados de escaneos',
  'scanners:configure': 'Configurar escáneres',
  'applications:read': 'Ver aplicaciones y repositorios',
  'applications:manage': 'Añadir y editar aplicaciones',
  'applications:delete': 'Eliminar aplicaciones',
  'policies:read': 'Ver políticas de seguridad',
  'policies:manage': 'Editar políticas de seguridad',
  'integrations:read': 'Ver integraciones',
  'integrations:manage': 'Conectar y configurar integraciones',
  'webhooks:manage': 'Gestionar webhooks salientes',
  'analytics:read': 'Ver analíticas',
  'compliance:read': 'Ver informes de cumplimiento',
  'audit:read': 'Leer el registro de auditoría',
  'audit:export': 'Exportar el registro de auditoría',
  'settings:read': 'Ver la configuración de la organización',
  'settings:update': 'Cambiar la configuración de la organización',
  'members:read': 'Ver miembros',
  'members:manage': 'Invitar, quitar y cambiar el rol de los miembros',
  'roles:manage': 'Crear y editar roles',
  'sso:manage': 'Configurar SSO y SCIM',
  'api_keys:manage': 'Gestionar los tokens de automatización de la organización',
  'quota:read': 'Ver cuota y consumo',
  'quota:manage': 'Gestionar presupuestos y ampliaciones',
  'billing:read': 'Ver suscripción y facturas',
  'billing:manage': 'Cambiar el plan y los datos de facturación',
  'org:export': 'Exportar todos los datos de la organización',
  'org:delete': 'Eliminar la organización',
  'org:transfer': 'Transferir la propiedad',
};

export const roleKey = (slug: string, part: 'name' | 'description') => `builtinRole_${slug}_${part}`;
export const permissionKey = (permission: string) => `permission_${permission.replace(/[^a-z0-9_]/g, '_')}`;

function bundle(): Strings {
  const en: Record<string, string> = {};
  const es: Record<string, string> = {};
  for (const role of BUILTIN_ROLES) {
    const words = roleWords.es[role.slug as BuiltinSlug];
    en[roleKey(role.slug, 'name')] = role.name;
    en[roleKey(role.slug, 'description')] = role.description;
    es[roleKey(role.slug, 'name')] = words?.name ?? role.name;
    es[roleKey(role.slug, 'description')] = words?.description ?? role.description;
  }
  for (const [permission, description] of Object.entries(PERMISSION_DESCRIPTIONS)) {
    en[permissionKey(permission)] = description;
    es[permissionKey(permission)] = permissionEs[permission as Permission];
  }
  return { en, es };
}

export const catalogStrings = bundle();
