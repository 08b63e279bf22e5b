import type { Strings } from './strings-bundle.ts';

/**
 * Every action the server records, with its label in both languages. An action missing here
 * still shows (as itself); test/console-words.test.ts keeps this list in step with the server.
 */
const actions = {
  'access.denied': ['Access denied', 'Acceso denegado'],
  'audit.checkpoint_created': ['Audit checkpoint signed', 'Punto de control de auditoría firmado'],
  'audit.exported': ['Audit log exported', 'Registro de auditoría exportado'],
  'audit.pruned': ['Old audit entries pruned', 'Entradas antiguas de auditoría depuradas'],
  'department.created': ['Department created', 'Departamento creado'],
  'department.deleted': ['Department deleted', 'Departamento eliminado'],
  'department.updated': ['Department changed', 'Departamento cambiado'],
  'finding.commented': ['Comment on a finding', 'Comentario en un hallazgo'],
  'finding.updated': ['Finding updated', 'Hallazgo actualizado'],
  'invite.accepted': ['Invitation accepted', 'Invitación aceptada'],
  'invite.cancelled': ['Invitation cancelled', 'Invitación cancelada'],
  'invite.resent': ['Invitation resent', 'Invitación reenviada'],
  'join_link.disabled': ['Share link turned off', 'Enlace para compartir desactivado'],
  'join_link.rotated': ['Share link created or rotated', 'Enlace para compartir creado o rotado'],
  'join_request.approved': ['Request to join approved', 'Solicitud para unirse aprobada'],
  'join_request.created': ['Asked to join', 'Solicitud para unirse enviada'],
  'join_request.denied': ['Request to join denied', 'Solicitud para unirse rechazada'],
  'member.invited': ['People invited', 'Personas invitadas'],
  'member.budget_set': ['Member budget set', 'Presupuesto de miembro fijado'],
  'member.break_glass': [
    'Made Owner by an operator (break-glass)',
    'Hecho Propietario por un operador (acceso de emergencia)',
  ],
  'member.left': ['Member left', 'Un miembro se fue'],
  'member.removed': ['Member removed', 'Miembro quitado'],
  'member.role_changed': ['Role changed', 'Rol cambiado'],
  'member.signed_in': ['Member signed in', 'Un miembro inició sesión'],
  'org.created': ['Organization created', 'Organización creada'],
  'org.deleted': ['Organization deleted', 'Organización eliminada'],
  'org.logo_changed': ['Logo changed', 'Logotipo cambiado'],
  'org.plan_changed': ['Plan changed by an operator', 'Plan cambiado por un operador'],
  'org.suspended': ['Organization suspended', 'Organización suspendida'],
  'org.unsuspended': ['Organization suspension lifted', 'Suspensión de la organización levantada'],
  'org.logo_removed': ['Logo removed', 'Logotipo quitado'],
  'org.updated': ['Organization profile updated', 'Perfil de la organización actualizado'],
  'org.security_updated': ['Security policy changed', 'Política de seguridad cambiada'],
  'module_cost.changed': [
    'Scan module cost changed by an operator',
    'Coste de un módulo de escaneo cambiado por un operador',
  ],
  'outbox.job_retried': [
    'Failed delivery retried by an operator',
    'Entrega fallida reintentada por un operador',
  ],
  'ownership.transferred': ['Ownership transferred', 'Propiedad transferida'],
  'application.created': ['Application added', 'Aplicación añadida'],
  'application.updated': ['Application updated', 'Aplicación actualizada'],
  'application.deleted': ['Application deleted', 'Aplicación eliminada'],
  'scan.created': ['Scan created', 'Análisis creado'],
  'scan.deleted': ['Scan deleted', 'Análisis eliminado'],
  'finding.reopened': [
    'Finding reopened: seen again by a scan',
    'Hallazgo reabierto: un análisis lo volvió a ver',
  ],
  'quota.threshold_reached': ['Token quota threshold reached', 'Umbral de la cuota de tokens alcanzado'],
  'quota.boosted': ['Quota boosted', 'Cuota ampliada'],
  'remediation.approved': ['Remediation approved', 'Corrección aprobada'],
  'remediation.created': ['Remediation proposed', 'Corrección propuesta'],
  'role.created': ['Role created', 'Rol creado'],
  'role.deleted': ['Role deleted', 'Rol eliminado'],
  'role.updated': ['Role updated', 'Rol actualizado'],
  // Entries written before sign-ins were named user.signed_in.
  'session.created': ['Signed in', 'Inicio de sesión'],
  'user.signed_in': ['Signed in', 'Inicio de sesión'],
  'policy.created': ['Policy created', 'Política creada'],
  'policy.updated': ['Policy changed', 'Política modificada'],
  'policy.deleted': ['Policy deleted', 'Política eliminada'],
  'user.reauthenticated': ['Identity confirmed again', 'Identidad confirmada de nuevo'],
  'session.ended': ['Signed out', 'Cierre de sesión'],
  'session.revoked': ['Session revoked', 'Sesión revocada'],
  'token.created': ['Token created', 'Token creado'],
  'token.revoked': ['Token revoked', 'Token revocado'],
  'user.2fa_disabled': ['Two-factor authentication turned off', 'Autenticación en dos pasos desactivada'],
  'user.2fa_enabled': ['Two-factor authentication turned on', 'Autenticación en dos pasos activada'],
  'user.2fa_reset': [
    'Two-factor authentication reset by an operator',
    'Autenticación en dos pasos restablecida por un operador',
  ],
  'user.created': ['Account created', 'Cuenta creada'],
  'user.disabled': ['Account disabled', 'Cuenta desactivada'],
  'user.enabled': ['Account enabled again', 'Cuenta reactivada'],
  'user.passkey_added': ['Passkey added', 'Llave de acceso añadida'],
  'user.passkey_removed': ['Passkey removed', 'Llave de acceso eliminada'],
  'user.passkey_renamed': ['Passkey renamed', 'Llave de acceso renombrada'],
  'user.deleted': ['Account deleted', 'Cuenta eliminada'],
  'user.email_change_requested': ['Email change asked for', 'Cambio de correo solicitado'],
  'user.email_changed': ['Email address changed', 'Correo cambiado'],
  'user.email_verification_sent': ['Verification link sent', 'Enlace de verificación enviado'],
  'user.email_verified': ['Email address verified', 'Correo verificado'],
  'user.password_changed': ['Password changed', 'Contraseña cambiada'],
  'user.password_reset': ['Password reset', 'Contraseña restablecida'],
  'user.password_reset_requested': ['Password reset asked for', 'Restablecimiento de contraseña solicitado'],
  'user.recovery_codes_regenerated': ['Recovery codes replaced', 'Códigos de recuperación renovados'],
  'user.updated': ['Account updated', 'Cuenta actualizada'],
} as const satisfies Record<string, readonly [string, string]>;

/** The actions the console has words for. */
export const AUDIT_ACTIONS: readonly string[] = Object.keys(actions);

const targetTypes: Record<string, readonly [string, string]> = {
  member: ['Member', 'Miembro'],
  user: ['User', 'Usuario'],
  organization: ['Organization', 'Organización'],
  invitation: ['Invitation', 'Invitación'],
  role: ['Role', 'Rol'],
  session: ['Session', 'Sesión'],
  passkey: ['Passkey', 'Llave de acceso'],
  personal_token: ['Personal token', 'Token personal'],
  automation_token: ['Automation token', 'Token de automatización'],
  join_request: ['Request to join', 'Solicitud para unirse'],
  audit_log: ['Audit log', 'Registro de auditoría'],
  audit_checkpoint: ['Audit checkpoint', 'Punto de control de auditoría'],
  route: ['Route', 'Ruta'],
  department: ['Department', 'Departamento'],
  quota_boost: ['Quota boost', 'Ampliación de cuota'],
  module_cost: ['Scan module cost', 'Coste de módulo de escaneo'],
  finding: ['Finding', 'Hallazgo'],
  remediation: ['Remediation', 'Corrección'],
};

/** Field names seen in entries' before/after; others show as their key. */
const fields: Record<string, readonly [string, string]> = {
  role: ['Role', 'Rol'],
  status: ['Status', 'Estado'],
  name: ['Name', 'Nombre'],
  email: ['Email', 'Correo electrónico'],
  slug: ['Slug', 'Identificador'],
  description: ['Description', 'Descripción'],
  permissions: ['Permissions', 'Permisos'],
  permission: ['Permission', 'Permiso'],
  missing: ['Permissions lacked', 'Permisos que faltan'],
  asked: ['Asked for', 'Solicitado'],
  scopes: ['Scopes', 'Alcances'],
  expiresAt: ['Expires', 'Caduca'],
  owner: ['Owner', 'Propietario'],
  userId: ['User', 'Usuario'],
  invitations: ['Invitations', 'Invitaciones'],
  locale: ['Language', 'Idioma'],
  timezone: ['Time zone', 'Zona horaria'],
  previousOwnerRole: ['Previous owner’s new role', 'Nuevo rol del propietario anterior'],
  ip: ['IP address', 'Dirección IP'],
  userAgent: ['Browser', 'Navegador'],
  sessionsEnded: ['Sessions ended', 'Sesiones terminadas'],
  joinLink: ['Share link', 'Enlace para compartir'],
  movedTo: ['Members moved to', 'Miembros movidos a'],
  monthlyBudget: ['Monthly budget', 'Presupuesto mensual'],
  monthlyTokens: ['Monthly budget', 'Presupuesto mensual'],
  memberIds: ['Members', 'Miembros'],
  parentId: ['Parent department', 'Departamento superior'],
  moved: ['Moved from another department', 'Movidos desde otro departamento'],
  tokens: ['Tokens', 'Tokens'],
  plan: ['Plan', 'Plan'],
  reason: ['Reason', 'Motivo'],
  suspended: ['Suspended', 'Suspendida'],
  disabled: ['Disabled', 'Desactivada'],
  require2fa: ['Two-factor authentication required', 'Verificación en dos pasos obligatoria'],
  sessionIdleMinutes: ['Session idle timeout (minutes)', 'Inactividad de la sesión (minutos)'],
  ipAllowlist: ['IP allowlist', 'Lista de IP permitidas'],
  method: ['Signed in with', 'Inicio de sesión con'],
  passkeyId: ['Passkey', 'Llave de acceso'],
  aaguid: ['Authenticator model (AAGUID)', 'Modelo de autenticador (AAGUID)'],
  deviceType: ['Device type', 'Tipo de dispositivo'],
  backedUp: ['Backed up', 'Con copia de seguridad'],
  twoFactorEnabled: ['Two-factor authentication', 'Autenticación en dos pasos'],
  secondFactor: ['Second factor', 'Segundo factor'],
  confirmedWith: ['Confirmed with', 'Confirmado con'],
  codesIssued: ['Recovery codes issued', 'Códigos de recuperación emitidos'],
  assigneeId: ['Assignee', 'Responsable'],
  commentId: ['Comment', 'Comentario'],
  findingId: ['Finding', 'Hallazgo'],
};

/** The i18n key of an action's, a target type's or a field's label. */
export const auditKey = (prefix: string, raw: string) => `${prefix}_${raw.replace(/[^A-Za-z0-9_]/g, '_')}`;
const key = auditKey;

function bundle(): Strings {
  const en: Record<string, string> = {
    auditSystem: 'System',
    auditOperator: 'An operator of this installation',
    auditAnonymous: 'Someone not signed in',
    auditViaToken: '{{who}} (token)',
    auditAutomationToken: 'Automation token {{id}}',
    auditYes: 'Yes',
    auditNo: 'No',
    auditNone: '—',
    auditAsRole: 'as {{role}}',
    auditIpNotAllowed: 'From an address outside the IP allowlist',
  };
  const es: Record<string, string> = {
    auditSystem: 'Sistema',
    auditOperator: 'Un operador de esta instalación',
    auditAnonymous: 'Alguien sin sesión iniciada',
    auditViaToken: '{{who}} (token)',
    auditAutomationToken: 'Token de automatización {{id}}',
    auditYes: 'Sí',
    auditNo: 'No',
    auditNone: '—',
    auditAsRole: 'como {{role}}',
    auditIpNotAllowed: 'Desde una dirección fuera de la lista de IP permitidas',
  };
  for (const [prefix, table] of [
    ['auditAction', actions],
    ['auditType', targetTypes],
    ['auditField', fields],
  ] as const) {
    for (const [raw, [english, spanish]] of Object.entries(table)) {
      en[key(prefix, raw)] = english;
      es[key(prefix, raw)] = spanish;
    }
  }
  return { en, es };
}

export const auditWordStrings = bundle();
