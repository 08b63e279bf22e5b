import type { Strings } from '../strings-bundle.ts';

const en = {
  accountIntro: 'Your own sign-in and preferences. They apply in every organization you belong to.',

  accountProfile: 'Profile',
  accountLanguage: 'Preferred language',
  accountLanguageHelp: 'The console switches to it wherever you sign in.',
  accountNotSet: 'Not set (follow the organization)',
  accountTimezone: 'Time zone',
  accountTimezoneHelp: "Type to search. This browser's time zone is {{zone}}.",
  accountTimezoneNone: 'No time zone matches',
  accountSave: 'Save profile',
  accountSaved: 'Profile saved.',

  accountPasswordTitle: 'Password',
  accountCurrentPassword: 'Current password',
  accountNewPassword: 'New password',
  accountConfirmPassword: 'Confirm new password',
  accountPasswordRules:
    'At least 12 characters (at most 256), with at least 4 different characters. Not your email address or your name, and not a commonly used password.',
  accountPasswordMismatch: 'The two new passwords do not match.',
  accountChangePassword: 'Change password',
  accountPasswordChanged:
    'Password changed. Every other session of your account was signed out; this one continues.',

  accountSessions: 'Active sessions',
  accountSessionsHelp:
    'Browsers and devices signed in to your account. Sign out any you do not recognise, then change your password.',
  accountDevice: 'Device',
  accountIp: 'IP address',
  accountSignedIn: 'Signed in',
  accountLastSeen: 'Last seen',
  accountThisSession: 'This session',
  accountAgent: '{{browser}} on {{os}}',
  accountUnknownBrowser: 'Unknown browser',
  accountUnknownOs: 'an unknown system',
  accountUnknown: 'Unknown',
  accountSignOutSession: 'Sign out {{device}}, signed in {{when}}',
  accountSignOutThis: 'Sign out this session',
  accountRevokeTitle: 'Sign out a session',
  accountRevokeConfirm: 'Sign out {{device}} (signed in {{when}} from {{ip}})? It ends at once.',
  accountRevokeCurrent:
    'This is the session you are using now: you will be signed out of this browser and taken to the sign-in page.',
  accountTimesIn: 'Times are shown in {{zone}}.',

  accountOrgs: 'Organizations',
  accountLeave: 'Leave',
  accountLeaveLabel: 'Leave {{org}}',
  accountLeaveTitle: 'Leave {{org}}?',
  accountLeaveConfirm:
    'You lose access to {{org}} at once, and your personal API tokens for it are revoked. To come back you need a new invitation.',
  accountLastOwnerTitle: 'You cannot leave yet',
  accountLastOwner:
    'You are the last owner of {{org}}, so you cannot leave it. Make another member an owner first, or delete the organization.',

  accountSessionEnded: '{{device}} signed out.',
  accountLeft: 'You left {{org}}.',
  accountErrBlank: 'Must not be blank or contain control characters.',
};

const es: typeof en = {
  accountIntro:
    'Tu propio acceso y tus preferencias. Se aplican en todas las organizaciones a las que perteneces.',

  accountProfile: 'Perfil',
  accountLanguage: 'Idioma preferido',
  accountLanguageHelp: 'La consola cambia a este idioma dondequiera que inicies sesión.',
  accountNotSet: 'Sin definir (el de la organización)',
  accountTimezone: 'Zona horaria',
  accountTimezoneHelp: 'Escribe para buscar. La zona horaria de este navegador es {{zone}}.',
  accountTimezoneNone: 'Ninguna zona horaria coincide',
  accountSave: 'Guardar perfil',
  accountSaved: 'Perfil guardado.',

  accountPasswordTitle: 'Contraseña',
  accountCurrentPassword: 'Contraseña actual',
  accountNewPassword: 'Nueva contraseña',
  accountConfirmPassword: 'Confirma la nueva contraseña',
  accountPasswordRules:
    'Al menos 12 caracteres (como máximo 256), con al menos 4 caracteres distintos. Que no sea tu correo ni tu nombre, ni una contraseña de uso común.',
  accountPasswordMismatch: 'Las dos contraseñas nuevas no coinciden.',
  accountChangePassword: 'Cambiar contraseña',
  accountPasswordChanged:
    'Contraseña cambiada. Se cerraron todas las demás sesiones de tu cuenta; esta continúa.',

  accountSessions: 'Sesiones activas',
  accountSessionsHelp:
    'Navegadores y dispositivos con sesión iniciada en tu cuenta. Cierra las que no reconozcas y después cambia tu contraseña.',
  accountDevice: 'Dispositivo',
  accountIp: 'Dirección IP',
  accountSignedIn: 'Inicio de sesión',
  accountLastSeen: 'Última actividad',
  accountThisSession: 'Esta sesión',
  accountAgent: '{{browser}} en {{os}}',
  accountUnknownBrowser: 'Navegador desconocido',
  accountUnknownOs: 'un sistema desconocido',
  accountUnknown: 'Desconocida',
  accountSignOutSession: 'Cerrar sesión de {{device}}, iniciada el {{when}}',
  accountSignOutThis: 'Cerrar sesión en este navegador',
  accountRevokeTitle: 'Cerrar una sesión',
  accountRevokeConfirm:
    '¿Cerrar la sesión de {{device}} (iniciada el {{when}} desde {{ip}})? Termina al instante.',
  accountRevokeCurrent:
    'Es la sesión que estás usando ahora: se cerrará en este navegador y pasarás a la página de inicio de sesión.',
  accountTimesIn: 'Las horas se muestran en {{zone}}.',

  accountOrgs: 'Organizaciones',
  accountLeave: 'Abandonar',
  accountLeaveLabel: 'Abandonar {{org}}',
  accountLeaveTitle: '¿Abandonar {{org}}?',
  accountLeaveConfirm:
    'Pierdes el acceso a {{org}} al instante y se revocan tus tokens de API personales para ella. Para volver necesitarás una nueva invitación.',
  accountLastOwnerTitle: 'Aún no puedes abandonarla',
  accountLastOwner:
    'Eres el último propietario de {{org}}, así que no puedes abandonarla. Haz propietario antes a otro miembro, o elimina la organización.',

  accountSessionEnded: 'Sesión de {{device}} cerrada.',
  accountLeft: 'Has dejado {{org}}.',
  accountErrBlank: 'No puede estar en blanco ni contener caracteres de control.',
};

/** Settings → Account: profile, password, sessions and memberships of the signed-in user. */
export const accountStrings: Strings = { en, es };
