import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { pageStrings } from './strings.ts';
import type { Strings } from './strings-bundle.ts';

const en = {
  appName: 'Gatehouse',
  loading: 'Loading',
  actions: 'Actions',
  changeRole: 'Change',
  pageFailed: 'This page could not be loaded',
  reload: 'Reload',
  signIn: 'Sign in',
  signUp: 'Create account',
  signOut: 'Sign out',
  email: 'Email',
  password: 'Password',
  name: 'Name',
  noAccount: 'No account yet?',
  haveAccount: 'Already have an account?',
  createOrg: 'Create organization',
  orgName: 'Organization name',
  organization: 'Organization',
  settings: 'Settings',
  team: 'Team',
  profile: 'Profile',
  roles: 'Roles',
  account: 'Account',
  apiTokens: 'API Tokens',
  language: 'Language',
  members: 'Members',
  search: 'Search by name or email',
  role: 'Role',
  status: 'Status',
  anyRole: 'Any role',
  anyStatus: 'Any status',
  joined: 'Joined',
  lastActive: 'Last active',
  never: 'Never',
  invite: 'Invite people',
  inviteHelp: 'Email addresses, separated by commas',
  emails: 'Emails',
  send: 'Send invitations',
  pendingInvites: 'Pending invitations',
  resend: 'Resend',
  cancel: 'Cancel',
  remove: 'Remove',
  confirmRemove: 'Remove {{name}} from the organization? Their sessions and tokens for it end at once.',
  confirm: 'Confirm',
  expires: 'Expires',
  personalTokens: 'Personal tokens',
  automationTokens: 'Automation tokens',
  tokenName: 'Token name',
  scopes: 'Scopes',
  expiry: 'Expiry',
  days: '{{count}} days',
  noExpiry: 'No expiry',
  create: 'Create token',
  revoke: 'Revoke',
  revealTitle: 'Copy your token now',
  revealHelp: 'This is the only time it is shown. Store it somewhere safe.',
  copy: 'Copy',
  copied: 'Copied',
  done: 'I have stored it',
  lastUsed: 'Last used',
  created: 'Created',
  usage: 'Usage',
  noItems: 'Nothing here yet.',
  active: 'Active',
  inactive: 'Inactive',
  removed: 'Removed',
  expired: 'Expired',
  pending: 'Pending',
  welcome: 'Create your first organization to get started.',
  invitation: 'Invitation',
  invitedAs: 'You are invited to {{org}} as {{role}} ({{email}}).',
  acceptInvitation: 'Accept invitation',
  close: 'Close',
  loadMore: 'Load more',
  auditLog: 'Audit Log',
  verified: 'Integrity verified ({{count, number}} entries)',
  tampered: 'Integrity check failed at entry {{seq}}',
  actionFilter: 'Action (e.g. member.*)',
  export: 'Export',
  time: 'Time',
  actor: 'Actor',
  action: 'Action',
  target: 'Target',
};

const es: typeof en = {
  appName: 'Gatehouse',
  loading: 'Cargando',
  actions: 'Acciones',
  changeRole: 'Cambiar',
  pageFailed: 'No se pudo cargar esta página',
  reload: 'Recargar',
  signIn: 'Iniciar sesión',
  signUp: 'Crear cuenta',
  signOut: 'Cerrar sesión',
  email: 'Correo electrónico',
  password: 'Contraseña',
  name: 'Nombre',
  noAccount: '¿Aún no tienes cuenta?',
  haveAccount: '¿Ya tienes cuenta?',
  createOrg: 'Crear organización',
  orgName: 'Nombre de la organización',
  organization: 'Organización',
  settings: 'Configuración',
  team: 'Equipo',
  profile: 'Perfil',
  roles: 'Roles',
  account: 'Cuenta',
  apiTokens: 'Tokens de API',
  language: 'Idioma',
  members: 'Miembros',
  search: 'Buscar por nombre o correo',
  role: 'Rol',
  status: 'Estado',
  anyRole: 'Cualquier rol',
  anyStatus: 'Cualquier estado',
  joined: 'Se unió',
  lastActive: 'Última actividad',
  never: 'Nunca',
  invite: 'Invitar personas',
  inviteHelp: 'Direcciones de correo, separadas por comas',
  emails: 'Correos',
  send: 'Enviar invitaciones',
  pendingInvites: 'Invitaciones pendientes',
  resend: 'Reenviar',
  cancel: 'Cancelar',
  remove: 'Quitar',
  confirmRemove:
    '¿Quitar a {{name}} de la organización? Sus sesiones y tokens para ella terminan al instante.',
  confirm: 'Confirmar',
  expires: 'Caduca',
  personalTokens: 'Tokens personales',
  automationTokens: 'Tokens de automatización',
  tokenName: 'Nombre del token',
  scopes: 'Alcances',
  expiry: 'Caducidad',
  days: '{{count}} días',
  noExpiry: 'Sin caducidad',
  create: 'Crear token',
  revoke: 'Revocar',
  revealTitle: 'Copia tu token ahora',
  revealHelp: 'Es la única vez que se muestra. Guárdalo en un lugar seguro.',
  copy: 'Copiar',
  copied: 'Copiado',
  done: 'Ya lo he guardado',
  lastUsed: 'Último uso',
  created: 'Creado',
  usage: 'Uso',
  noItems: 'Aún no hay nada aquí.',
  active: 'Activo',
  inactive: 'Inactivo',
  removed: 'Eliminado',
  expired: 'Caducado',
  pending: 'Pendiente',
  welcome: 'Crea tu primera organización para empezar.',
  invitation: 'Invitación',
  invitedAs: 'Te han invitado a {{org}} como {{role}} ({{email}}).',
  acceptInvitation: 'Aceptar invitación',
  close: 'Cerrar',
  loadMore: 'Cargar más',
  auditLog: 'Registro de auditoría',
  verified: 'Integridad verificada ({{count, number}} entradas)',
  tampered: 'La verificación falló en la entrada {{seq}}',
  actionFilter: 'Acción (p. ej. member.*)',
  export: 'Exportar',
  time: 'Hora',
  actor: 'Actor',
  action: 'Acción',
  target: 'Objeto',
};

const saved = typeof localStorage !== 'undefined' ? localStorage.getItem('gatehouse.lang') : null;

/** The shared words plus each page's own; a key defined twice is a mistake, caught at start. */
function merge(bundles: Strings[]): Strings {
  const all: Strings = { en: { ...en }, es: { ...es } };
  for (const bundle of bundles) {
    for (const key of Object.keys(bundle.en)) {
      if (key in all.en) throw new Error(`console strings: "${key}" is defined twice`);
    }
    Object.assign(all.en, bundle.en);
    Object.assign(all.es, bundle.es);
  }
  return all;
}

const strings = merge(pageStrings);

void i18n.use(initReactI18next).init({
  resources: { en: { translation: strings.en }, es: { translation: strings.es } },
  lng: saved ?? (navigator.language.startsWith('es') ? 'es' : 'en'),
  fallbackLng: 'en',
  interpolation: { escapeValue: false },
});

/** The language chosen in this browser with the language switch, if one was. */
export function chosenLanguage(): string | null {
  return typeof localStorage !== 'undefined' ? localStorage.getItem('gatehouse.lang') : null;
}

/** Switches the language now and for the next visit. */
export function setLanguage(lang: string): void {
  const base = lang.startsWith('es') ? 'es' : 'en';
  localStorage.setItem('gatehouse.lang', base);
  void i18n.changeLanguage(base);
}

export default i18n;
