import type { Strings } from '../strings-bundle.ts';

/** Account → Security (two-factor authentication, recovery codes) and the sign-in's second step. */
const en = {
  accountSecurity: 'Account security',
  securityNeedsVerifiedEmail:
    'Two-factor authentication and passkeys can be added once your email address is verified.',
  securityIntro: 'How you prove it is you when you sign in. These settings are yours, in every organization.',

  twoFactorTitle: 'Two-factor authentication',
  twoFactorStatus: 'Status',
  twoFactorOnBadge: 'On',
  twoFactorOffBadge: 'Off',
  twoFactorOffHelp:
    'With it on, signing in also asks for a code from an authenticator app on your phone, so a stolen password is not enough.',
  twoFactorOnHelp: 'Signing in asks for a code from your authenticator app, or one of your recovery codes.',
  twoFactorSetUp: 'Set up two-factor authentication',
  twoFactorScan:
    'Scan this QR code with an authenticator app (Google Authenticator, Microsoft Authenticator, 1Password, Aegis…), or type the setup key into it.',
  twoFactorQrLabel: 'QR code to scan with your authenticator app',
  twoFactorKey: 'Setup key',
  twoFactorCopyKey: 'Copy key',
  twoFactorCode: 'Authentication code',
  twoFactorCodeHelp: 'The 6-digit code the app shows now.',
  twoFactorTurnOn: 'Turn on',
  twoFactorEnabled: 'Two-factor authentication is on.',
  twoFactorTurnOff: 'Turn off',
  twoFactorTurnOffTitle: 'Turn off two-factor authentication?',
  twoFactorTurnOffConfirm:
    'Signing in will ask only for your password. Enter your password and a code from your app, or a recovery code.',
  twoFactorCodeOrRecovery: 'Code or recovery code',
  twoFactorDisabled: 'Two-factor authentication is off.',
  twoFactorRequiredBy: 'Required by {{orgs}}: it stays on while you belong to it.',
  twoFactorWrongCode: 'That code is not right. Enter the code the app shows now.',

  recoveryTitle: 'Save your recovery codes',
  recoveryHelp:
    'If you lose your phone, each of these codes signs you in once. This is the only time they are shown: copy or download them and keep them somewhere safe.',
  recoveryListLabel: 'Recovery codes',
  recoveryCopy: 'Copy codes',
  recoveryDownload: 'Download (.txt)',
  recoveryDone: 'I have saved them',
  recoveryFileHeader: 'Gatehouse recovery codes for {{email}}. Each signs in once.',
  recoveryReplace: 'Replace recovery codes',
  recoveryReplaceTitle: 'Replace your recovery codes?',
  recoveryReplaceConfirm:
    'You get ten new codes; the ones you have now stop working at once. Enter your password to continue.',
  recoveryReplaceHelp: 'Lost your recovery codes, or used most of them? Make a new set.',

  reauthTitle: 'Confirm it is you',
  reauthHelp:
    'Adding a sign-in method needs a recent proof that it is you. Enter your password to continue; you will not be asked again for 15 minutes.',
  reauthHelpWithCode:
    'Adding a sign-in method needs a recent proof that it is you. Enter your password and a code from your authenticator app (or a recovery code); you will not be asked again for 15 minutes.',
  reauthConfirm: 'Confirm',
  reauthWrongPassword: 'That password is not right.',
  reauthWrongCode: 'That code is not right. Enter the code the app shows now, or an unused recovery code.',

  signInCodeTitle: 'Two-step verification',
  signInCode: 'Authentication code',
  signInCodeHelp: 'Open your authenticator app and enter the 6-digit code for Gatehouse.',
  signInRecoveryCode: 'Recovery code',
  signInRecoveryHelp: 'Enter one of the recovery codes you saved. Each works once.',
  signInUseRecovery: 'Use a recovery code instead',
  signInUseApp: 'Use your authenticator app instead',
  signInVerify: 'Verify',
};

const es: typeof en = {
  accountSecurity: 'Seguridad de la cuenta',
  securityNeedsVerifiedEmail:
    'La autenticación en dos pasos y las llaves de acceso se pueden añadir cuando tu correo esté verificado.',
  securityIntro:
    'Cómo demuestras que eres tú al iniciar sesión. Estos ajustes son tuyos, en todas tus organizaciones.',

  twoFactorTitle: 'Autenticación en dos pasos',
  twoFactorStatus: 'Estado',
  twoFactorOnBadge: 'Activada',
  twoFactorOffBadge: 'Desactivada',
  twoFactorOffHelp:
    'Si la activas, al iniciar sesión también se te pedirá un código de una aplicación de autenticación de tu teléfono, así que una contraseña robada no basta.',
  twoFactorOnHelp:
    'Al iniciar sesión se te pide un código de tu aplicación de autenticación o uno de tus códigos de recuperación.',
  twoFactorSetUp: 'Configurar la autenticación en dos pasos',
  twoFactorScan:
    'Escanea este código QR con una aplicación de autenticación (Google Authenticator, Microsoft Authenticator, 1Password, Aegis…) o escribe en ella la clave de configuración.',
  twoFactorQrLabel: 'Código QR para escanear con tu aplicación de autenticación',
  twoFactorKey: 'Clave de configuración',
  twoFactorCopyKey: 'Copiar clave',
  twoFactorCode: 'Código de autenticación',
  twoFactorCodeHelp: 'El código de 6 dígitos que muestra ahora la aplicación.',
  twoFactorTurnOn: 'Activar',
  twoFactorEnabled: 'La autenticación en dos pasos está activada.',
  twoFactorTurnOff: 'Desactivar',
  twoFactorTurnOffTitle: '¿Desactivar la autenticación en dos pasos?',
  twoFactorTurnOffConfirm:
    'Al iniciar sesión solo se pedirá tu contraseña. Introduce tu contraseña y un código de tu aplicación o un código de recuperación.',
  twoFactorCodeOrRecovery: 'Código o código de recuperación',
  twoFactorDisabled: 'La autenticación en dos pasos está desactivada.',
  twoFactorRequiredBy: 'La exige {{orgs}}: sigue activada mientras pertenezcas a ella.',
  twoFactorWrongCode: 'Ese código no es correcto. Introduce el que muestra ahora la aplicación.',

  recoveryTitle: 'Guarda tus códigos de recuperación',
  recoveryHelp:
    'Si pierdes el teléfono, cada uno de estos códigos te permite iniciar sesión una vez. Es la única vez que se muestran: cópialos o descárgalos y guárdalos en un lugar seguro.',
  recoveryListLabel: 'Códigos de recuperación',
  recoveryCopy: 'Copiar códigos',
  recoveryDownload: 'Descargar (.txt)',
  recoveryDone: 'Ya los he guardado',
  recoveryFileHeader: 'Códigos de recuperación de Gatehouse para {{email}}. Cada uno sirve una vez.',
  recoveryReplace: 'Renovar los códigos de recuperación',
  recoveryReplaceTitle: '¿Renovar tus códigos de recuperación?',
  recoveryReplaceConfirm:
    'Recibirás diez códigos nuevos; los que tienes ahora dejan de funcionar al instante. Introduce tu contraseña para continuar.',
  recoveryReplaceHelp: '¿Has perdido tus códigos de recuperación o has usado casi todos? Genera otros.',

  reauthTitle: 'Confirma que eres tú',
  reauthHelp:
    'Para añadir un método de inicio de sesión hace falta una prueba reciente de que eres tú. Introduce tu contraseña para continuar; no se te volverá a pedir en 15 minutos.',
  reauthHelpWithCode:
    'Para añadir un método de inicio de sesión hace falta una prueba reciente de que eres tú. Introduce tu contraseña y un código de tu aplicación de autenticación (o un código de recuperación); no se te volverá a pedir en 15 minutos.',
  reauthConfirm: 'Confirmar',
  reauthWrongPassword: 'Esa contraseña no es correcta.',
  reauthWrongCode:
    'Ese código no es correcto. Introduce el que muestra ahora la aplicación o un código de recuperación sin usar.',

  signInCodeTitle: 'Verificación en dos pasos',
  signInCode: 'Código de autenticación',
  signInCodeHelp: 'Abre tu aplicación de autenticación e introduce el código de 6 dígitos de Gatehouse.',
  signInRecoveryCode: 'Código de recuperación',
  signInRecoveryHelp: 'Introduce uno de los códigos de recuperación que guardaste. Cada uno sirve una vez.',
  signInUseRecovery: 'Usar un código de recuperación',
  signInUseApp: 'Usar la aplicación de autenticación',
  signInVerify: 'Verificar',
};

export const accountSecurityStrings: Strings = { en, es };
