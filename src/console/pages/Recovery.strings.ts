import type { Strings } from '../strings-bundle.ts';

/** Password reset, email verification and change, personal data and account deletion. */
const en = {
  recoveryForgot: 'Forgot password?',
  recoveryForgotTitle: 'Reset your password',
  recoveryForgotHelp:
    'Enter the email address of your account. We will send you a link to choose a new password.',
  recoveryForgotSend: 'Send reset link',
  recoveryForgotSent:
    'If {{email}} has an account, a link to reset its password is on its way. It works once, for one hour. Check your spam folder if it does not arrive.',
  recoveryBackToSignIn: 'Back to sign in',
  recoveryAskAgain: 'Ask for a new link',
  recoveryNoLink:
    'This page opens from the link in the email we sent you. Open the link from that email again.',
  recoveryResetTitle: 'Choose a new password',
  recoveryResetSubmit: 'Set new password',
  recoveryResetDone:
    'Password changed. Every session of your account was signed out: sign in with your new password.',
  recoverySecondFactor: 'Authentication code or recovery code',
  recoverySecondFactorHelp: 'The 6-digit code from your authenticator app, or one of your recovery codes.',
  recoveryVerifyTitle: 'Verify your email address',
  recoveryVerifyHelp: 'Confirm that this email address is yours.',
  recoveryVerifySubmit: 'Verify email address',
  recoveryVerified: '{{email}} is verified. Thank you.',
  recoveryToConsole: 'Go to the console',
  recoveryConfirmTitle: 'Confirm your new email address',
  recoveryConfirmHelp: 'Your account will use this new address from now on, to sign in and for every email.',
  recoveryConfirmSignIn:
    'Sign in to the account that asked for the change, with its current address, to confirm it.',
  recoveryConfirmSubmit: 'Use the new address',
  recoveryEmailChanged: 'Done: your account now uses {{email}}. Sign in with it from now on.',
  recoveryUnverifiedTitle: 'Verify your email address',
  recoveryUnverified:
    'We sent a link to {{email}} to confirm it is yours. Until then, password resets and some organizations may not trust it.',
  recoveryResend: 'Resend the link',
  recoveryVerificationSent: 'A new link is on its way to {{email}}. Earlier links no longer work.',
  recoveryChangeTitle: 'Email address',
  recoveryChangeHelp:
    'You sign in with {{email}}. To use another address, we send a link to it and a notice to this one; the change happens when you follow the link.',
  recoveryNewEmail: 'New email address',
  recoveryChangeSubmit: 'Send confirmation link',
  recoveryChangeSent:
    'We sent a link to {{email}}. Your address changes when you follow it (within 24 hours).',
  recoveryDataTitle: 'Your data',
  recoveryDataHelp:
    'Download what Gatehouse keeps about you: profile, memberships, sessions, personal tokens, passkeys and your account’s activity log, as a JSON file.',
  recoveryDataDownload: 'Download my data',
  recoveryDeleteTitle: 'Delete account',
  recoveryDeleteHelp:
    'You leave every organization, every session and personal token ends, and your email address is freed. Organizations’ audit logs keep what you did. If you are the only Owner of an organization, make someone else an Owner or delete it first.',
  recoveryDeleteButton: 'Delete my account',
  recoveryDeleteConfirmTitle: 'Delete your account?',
  recoveryDeleteConfirm: 'This cannot be undone. Enter your password to confirm.',
  recoveryDeleted: 'Your account was deleted.',
};

const es: Strings<typeof en>['es'] = {
  recoveryForgot: '¿Olvidaste tu contraseña?',
  recoveryForgotTitle: 'Restablecer la contraseña',
  recoveryForgotHelp:
    'Introduce el correo de tu cuenta. Te enviaremos un enlace para elegir una contraseña nueva.',
  recoveryForgotSend: 'Enviar enlace',
  recoveryForgotSent:
    'Si {{email}} tiene una cuenta, le llegará un enlace para restablecer su contraseña. Funciona una vez, durante una hora. Si no llega, revisa la carpeta de spam.',
  recoveryBackToSignIn: 'Volver a iniciar sesión',
  recoveryAskAgain: 'Pedir un enlace nuevo',
  recoveryNoLink:
    'Esta página se abre desde el enlace del correo que te enviamos. Vuelve a abrir el enlace de ese correo.',
  recoveryResetTitle: 'Elige una contraseña nueva',
  recoveryResetSubmit: 'Guardar contraseña nueva',
  recoveryResetDone:
    'Contraseña cambiada. Se cerraron todas las sesiones de tu cuenta: inicia sesión con la contraseña nueva.',
  recoverySecondFactor: 'Código de autenticación o de recuperación',
  recoverySecondFactorHelp:
    'El código de 6 cifras de tu app de autenticación, o uno de tus códigos de recuperación.',
  recoveryVerifyTitle: 'Verifica tu correo',
  recoveryVerifyHelp: 'Confirma que esta dirección de correo es tuya.',
  recoveryVerifySubmit: 'Verificar correo',
  recoveryVerified: '{{email}} está verificado. Gracias.',
  recoveryToConsole: 'Ir a la consola',
  recoveryConfirmTitle: 'Confirma tu nuevo correo',
  recoveryConfirmHelp:
    'Tu cuenta usará esta dirección a partir de ahora, para iniciar sesión y para todos los correos.',
  recoveryConfirmSignIn:
    'Inicia sesión en la cuenta que pidió el cambio, con su dirección actual, para confirmarlo.',
  recoveryConfirmSubmit: 'Usar la dirección nueva',
  recoveryEmailChanged: 'Hecho: tu cuenta usa ahora {{email}}. Inicia sesión con ella a partir de ahora.',
  recoveryUnverifiedTitle: 'Verifica tu correo',
  recoveryUnverified:
    'Enviamos un enlace a {{email}} para confirmar que es tuyo. Hasta entonces, los restablecimientos de contraseña y algunas organizaciones podrían no fiarse de él.',
  recoveryResend: 'Reenviar el enlace',
  recoveryVerificationSent: 'Un enlace nuevo va de camino a {{email}}. Los anteriores ya no funcionan.',
  recoveryChangeTitle: 'Correo electrónico',
  recoveryChangeHelp:
    'Inicias sesión con {{email}}. Para usar otra dirección, le enviamos un enlace y un aviso a esta; el cambio se hace al seguir el enlace.',
  recoveryNewEmail: 'Correo nuevo',
  recoveryChangeSubmit: 'Enviar enlace de confirmación',
  recoveryChangeSent: 'Enviamos un enlace a {{email}}. Tu dirección cambia cuando lo sigas (en 24 horas).',
  recoveryDataTitle: 'Tus datos',
  recoveryDataHelp:
    'Descarga lo que Gatehouse guarda sobre ti: perfil, membresías, sesiones, tokens personales, llaves de acceso y el registro de actividad de tu cuenta, en un archivo JSON.',
  recoveryDataDownload: 'Descargar mis datos',
  recoveryDeleteTitle: 'Eliminar la cuenta',
  recoveryDeleteHelp:
    'Sales de todas las organizaciones, terminan todas las sesiones y tokens personales, y tu correo queda libre. Los registros de auditoría de las organizaciones conservan lo que hiciste. Si eres el único Propietario de una organización, nombra antes a otro Propietario o elimínala.',
  recoveryDeleteButton: 'Eliminar mi cuenta',
  recoveryDeleteConfirmTitle: '¿Eliminar tu cuenta?',
  recoveryDeleteConfirm: 'No se puede deshacer. Introduce tu contraseña para confirmar.',
  recoveryDeleted: 'Tu cuenta se eliminó.',
};

export const recoveryStrings: Strings<typeof en> = { en, es };
