import type { Strings } from '../strings-bundle.ts';

const en = {
  securityNav: 'Security',
  securityTitle: 'Security',
  securityLoading: 'Loading the security policy',
  securityReadOnly: 'You can view this policy. Changing it needs the settings:update permission.',
  securityEnterprise: 'Enterprise',
  securityEnterpriseOnly: 'Part of the Enterprise plan. This organization is on the {{plan}} plan.',
  securityTwoFactor: 'Two-factor authentication',
  securityRequire2fa: 'Require two-factor authentication or a passkey for every member',
  securityRequire2faHelp:
    'Members must use two-factor authentication or sign in with a passkey; until they do, they can only reach their own account. Automation tokens are not affected.',
  securityYouLack2fa:
    'You use neither two-factor authentication nor a passkey sign-in yourself, so you cannot require it yet: turn two-factor authentication on for your account, or sign in with a passkey, first.',
  securitySetUp2fa: 'Set up two-factor authentication',
  securityIdle: 'Session idle timeout',
  securityIdleMinutes: 'Minutes of inactivity before a session ends',
  securityIdleHelp:
    'Leave empty for the installation’s default ({{minutes}} minutes). A member of several organizations gets the strictest.',
  securityIdleDefault: 'The installation’s default: {{minutes}} minutes',
  securityAllowlist: 'IP allowlist',
  securityAllowlistHelp:
    'Requests to this organization — from the console and from API tokens alike — are accepted only from these addresses. One address or CIDR block per line (IPv4 or IPv6). Leave empty to accept every address.',
  securityAllowlistLabel: 'Allowed addresses and blocks',
  securityYourAddress: 'Your address, as the server sees it: {{address}}',
  securityAddMine: 'Add my address',
  securityExcludesYou:
    'This list does not include your own address ({{address}}). Saving it would lock you out, so it will be refused: add your address or a block that contains it.',
  securitySave: 'Save policy',
  securityDiscard: 'Discard changes',
  securitySaved: 'Security policy saved.',
  twoFactorHeldTitle: 'Set up two-factor authentication or a passkey to continue',
  twoFactorHeldLink: 'Go to Account security',
  suspendedBanner:
    'This organization is suspended by the operators of this installation: nothing in it can be seen or changed until they lift the suspension.',
};

const es: Strings<typeof en>['es'] = {
  securityNav: 'Seguridad',
  securityTitle: 'Seguridad',
  securityLoading: 'Cargando la política de seguridad',
  securityReadOnly: 'Puedes ver esta política. Para cambiarla hace falta el permiso settings:update.',
  securityEnterprise: 'Enterprise',
  securityEnterpriseOnly: 'Forma parte del plan Enterprise. Esta organización tiene el plan {{plan}}.',
  securityTwoFactor: 'Verificación en dos pasos',
  securityRequire2fa: 'Exigir la verificación en dos pasos o una llave de acceso a todos los miembros',
  securityRequire2faHelp:
    'Los miembros deben usar la verificación en dos pasos o iniciar sesión con una llave de acceso; hasta entonces solo podrán entrar en su propia cuenta. Los tokens de automatización no se ven afectados.',
  securityYouLack2fa:
    'Tú no usas la verificación en dos pasos ni has iniciado sesión con una llave de acceso, así que aún no puedes exigirla: activa la verificación en dos pasos en tu cuenta o inicia sesión con una llave de acceso.',
  securitySetUp2fa: 'Configurar la verificación en dos pasos',
  securityIdle: 'Tiempo de inactividad de la sesión',
  securityIdleMinutes: 'Minutos sin actividad antes de que termine una sesión',
  securityIdleHelp:
    'Déjalo vacío para usar el valor de la instalación ({{minutes}} minutos). Quien pertenezca a varias organizaciones tendrá el más estricto.',
  securityIdleDefault: 'Valor de la instalación: {{minutes}} minutos',
  securityAllowlist: 'Lista de IP permitidas',
  securityAllowlistHelp:
    'Las solicitudes a esta organización —desde la consola y desde tokens de API— solo se aceptan desde estas direcciones. Una dirección o bloque CIDR por línea (IPv4 o IPv6). Déjala vacía para aceptar cualquier dirección.',
  securityAllowlistLabel: 'Direcciones y bloques permitidos',
  securityYourAddress: 'Tu dirección, tal como la ve el servidor: {{address}}',
  securityAddMine: 'Añadir mi dirección',
  securityExcludesYou:
    'Esta lista no incluye tu propia dirección ({{address}}). Guardarla te dejaría fuera, así que se rechazará: añade tu dirección o un bloque que la contenga.',
  securitySave: 'Guardar la política',
  securityDiscard: 'Descartar cambios',
  securitySaved: 'Política de seguridad guardada.',
  twoFactorHeldTitle: 'Configura la verificación en dos pasos o una llave de acceso para continuar',
  twoFactorHeldLink: 'Ir a Seguridad de la cuenta',
  suspendedBanner:
    'Los operadores de esta instalación han suspendido esta organización: no se puede ver ni cambiar nada en ella hasta que levanten la suspensión.',
};

export const securityStrings: Strings<typeof en> = { en, es };
