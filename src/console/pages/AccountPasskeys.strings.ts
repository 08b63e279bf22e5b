import type { Strings } from '../strings-bundle.ts';

/** Passkeys: signing in with one, and Settings → Account → Security's list of them. */
const en = {
  passkeySignIn: 'Sign in with a passkey',
  passkeySignInHelp:
    'With an email typed above, only that account’s passkeys are offered; with none, choose any passkey you hold for this site.',
  passkeyOr: 'or',

  passkeysTitle: 'Passkeys',
  passkeysHelp:
    'A passkey signs you in with your fingerprint, face or device PIN instead of your password, and cannot be phished. It counts as two-factor authentication.',
  passkeysNone: 'You have no passkeys yet.',
  passkeyName: 'Passkey name',
  passkeyNameHelp: 'Something that tells you which device holds it, such as “Work laptop”.',
  passkeyAdd: 'Add a passkey',
  passkeyAdded: 'Passkey “{{name}}” added.',
  passkeyColumnName: 'Name',
  passkeyCreated: 'Added',
  passkeyLastUsed: 'Last used',
  passkeyNeverUsed: 'Never',
  passkeyRename: 'Rename',
  passkeyRenameLabel: 'Rename passkey “{{name}}”',
  passkeyRenameTitle: 'Rename passkey',
  passkeyRenamed: 'Passkey renamed to “{{name}}”.',
  passkeyRemove: 'Remove',
  passkeyRemoveLabel: 'Remove passkey “{{name}}”',
  passkeyRemoveTitle: 'Remove passkey “{{name}}”?',
  passkeyRemoveConfirm:
    'It no longer signs you in to Gatehouse. The passkey itself stays on the device; delete it there too if you no longer want it.',
  passkeyRemoved: 'Passkey “{{name}}” removed.',

  passkeyBrowser_cancelled_title: 'No passkey was used',
  passkeyBrowser_cancelled:
    'The request was cancelled, timed out, or no passkey of this site was found on the device. Try again.',
  passkeyBrowser_unsupported_title: 'This browser does not support passkeys',
  passkeyBrowser_unsupported: 'Use an up-to-date browser, or sign in with your password.',
  passkeyBrowser_registered_title: 'This device already has a passkey for your account',
  passkeyBrowser_registered: 'It is in the list already. Add a passkey from another device or security key.',
  passkeyBrowser_failed_title: 'The passkey could not be used',
  passkeyBrowser_failed: 'Try again. If it keeps failing, sign in with your password.',
};

const es: typeof en = {
  passkeySignIn: 'Iniciar sesión con una llave de acceso',
  passkeySignInHelp:
    'Con un correo escrito arriba, solo se ofrecen las llaves de acceso de esa cuenta; sin él, elige cualquier llave de acceso que tengas para este sitio.',
  passkeyOr: 'o',

  passkeysTitle: 'Llaves de acceso',
  passkeysHelp:
    'Una llave de acceso te permite iniciar sesión con tu huella, tu cara o el PIN del dispositivo en lugar de tu contraseña, y no se puede suplantar. Cuenta como autenticación en dos pasos.',
  passkeysNone: 'Aún no tienes llaves de acceso.',
  passkeyName: 'Nombre de la llave de acceso',
  passkeyNameHelp: 'Algo que te diga qué dispositivo la guarda, como «Portátil del trabajo».',
  passkeyAdd: 'Añadir una llave de acceso',
  passkeyAdded: 'Llave de acceso «{{name}}» añadida.',
  passkeyColumnName: 'Nombre',
  passkeyCreated: 'Añadida',
  passkeyLastUsed: 'Último uso',
  passkeyNeverUsed: 'Nunca',
  passkeyRename: 'Renombrar',
  passkeyRenameLabel: 'Renombrar la llave de acceso «{{name}}»',
  passkeyRenameTitle: 'Renombrar la llave de acceso',
  passkeyRenamed: 'Llave de acceso renombrada a «{{name}}».',
  passkeyRemove: 'Quitar',
  passkeyRemoveLabel: 'Quitar la llave de acceso «{{name}}»',
  passkeyRemoveTitle: '¿Quitar la llave de acceso «{{name}}»?',
  passkeyRemoveConfirm:
    'Dejará de servir para iniciar sesión en Gatehouse. La llave sigue en el dispositivo; bórrala también allí si ya no la quieres.',
  passkeyRemoved: 'Llave de acceso «{{name}}» quitada.',

  passkeyBrowser_cancelled_title: 'No se usó ninguna llave de acceso',
  passkeyBrowser_cancelled:
    'La solicitud se canceló, caducó o no se encontró en el dispositivo ninguna llave de acceso de este sitio. Inténtalo de nuevo.',
  passkeyBrowser_unsupported_title: 'Este navegador no admite llaves de acceso',
  passkeyBrowser_unsupported: 'Usa un navegador actualizado o inicia sesión con tu contraseña.',
  passkeyBrowser_registered_title: 'Este dispositivo ya tiene una llave de acceso para tu cuenta',
  passkeyBrowser_registered:
    'Ya está en la lista. Añade una llave de acceso desde otro dispositivo o llave de seguridad.',
  passkeyBrowser_failed_title: 'No se pudo usar la llave de acceso',
  passkeyBrowser_failed: 'Inténtalo de nuevo. Si sigue fallando, inicia sesión con tu contraseña.',
};

export const passkeyStrings: Strings = { en, es };
