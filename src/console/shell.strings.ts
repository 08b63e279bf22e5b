import type { Strings } from './strings-bundle.ts';

/** The header, the account menu, and the pages of a signed-in user with no organization. */
const en = {
  pageFailedHelp: 'Reload the page. If it keeps happening, the console may have been upgraded meanwhile.',
  shellAccountMenu: '{{name}}, account menu',
  shellSettingsMenu: 'Settings menu',
  shellSwitchAccount: 'Switch account',
  shellToConsole: 'Go to your organizations',
  shellNoOrgNext:
    'You are signed in as {{email}}. Create an organization, open an invitation link someone sent you, or switch to another account.',
  shellLostTitle: 'You no longer have access to {{org}}',
  shellLostHelp:
    'An administrator of {{org}} removed you, or the organization was deleted. Your account still exists. If this is a mistake, ask an Owner of {{org}} to invite you again.',
  shellLostOne: 'You no longer have access to {{org}}.',
  shellWaitingTitle: 'Waiting for approval',
  shellWaitingHelp:
    'You asked to join {{org}}. An administrator of it must approve your request; it opens here once they have.',
  shellCheckAgain: 'Check again',
  shellOrgCreated: '{{org}} created.',
  shellJoined: 'You joined {{org}}.',
  shellInviteNoLink: 'This page needs the invitation link you were sent, in full.',
  shellInviteOther:
    'This invitation was sent to {{invited}}, and you are signed in as {{email}}. To accept it, switch to the account of {{invited}} (or create it). Or ask for an invitation to {{email}}.',
  shellJoinNext: 'You can close this page, or go on working meanwhile.',
  tokensRevoked: 'Token “{{name}}” revoked.',
  tokensRevokeTitle: 'Revoke “{{name}}”?',
  tokensRevokeConfirm:
    'Anything using this token is refused from now on. This cannot be undone; create a new token if you need one.',
};

const es: Strings<typeof en>['es'] = {
  pageFailedHelp:
    'Recarga la página. Si sigue ocurriendo, puede que la consola se haya actualizado mientras tanto.',
  shellAccountMenu: '{{name}}, menú de la cuenta',
  shellSettingsMenu: 'Menú de configuración',
  shellSwitchAccount: 'Cambiar de cuenta',
  shellToConsole: 'Ir a tus organizaciones',
  shellNoOrgNext:
    'Has iniciado sesión como {{email}}. Crea una organización, abre un enlace de invitación que te hayan enviado o cambia a otra cuenta.',
  shellLostTitle: 'Ya no tienes acceso a {{org}}',
  shellLostHelp:
    'Un administrador de {{org}} te quitó, o la organización se eliminó. Tu cuenta sigue existiendo. Si es un error, pide a un Propietario de {{org}} que te invite de nuevo.',
  shellLostOne: 'Ya no tienes acceso a {{org}}.',
  shellWaitingTitle: 'Esperando aprobación',
  shellWaitingHelp:
    'Pediste unirte a {{org}}. Un administrador debe aprobar tu solicitud; aparecerá aquí cuando lo haga.',
  shellCheckAgain: 'Comprobar de nuevo',
  shellOrgCreated: '{{org}} creada.',
  shellJoined: 'Te has unido a {{org}}.',
  shellInviteNoLink: 'Esta página necesita el enlace de invitación que te enviaron, completo.',
  shellInviteOther:
    'Esta invitación se envió a {{invited}} y has iniciado sesión como {{email}}. Para aceptarla, cambia a la cuenta de {{invited}} (o créala). O pide una invitación para {{email}}.',
  shellJoinNext: 'Puedes cerrar esta página o seguir trabajando mientras tanto.',
  tokensRevoked: 'Token «{{name}}» revocado.',
  tokensRevokeTitle: '¿Revocar «{{name}}»?',
  tokensRevokeConfirm:
    'Todo lo que use este token se rechazará desde ahora. No se puede deshacer; crea un token nuevo si lo necesitas.',
};

export const shellStrings: Strings<typeof en> = { en, es };
