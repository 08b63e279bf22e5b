import type { Strings } from '../i18n.ts';

const en = {
  teamJoinLink: 'Share link',
  teamJoinLinkHelp:
    'Anyone signed in who opens the link can ask to join; each request waits for an admin to approve it with a role.',
  teamJoinLinkOn: 'On since {{date}}. Rotate it to make the old link stop working.',
  teamJoinLinkOff: 'Off.',
  teamJoinLinkOnce: 'Copy the link now: it is shown only this once.',
  teamJoinLinkCreate: 'Create share link',
  teamJoinLinkRotate: 'Rotate link',
  teamJoinLinkDisable: 'Turn off',
  teamJoinRequests: 'Requests to join',
  teamApprove: 'Approve',
  teamDeny: 'Deny',
  joinTitle: 'Join an organization',
  joinHelp: 'You opened a share link. Ask to join, and an admin of the organization will decide.',
  joinAsk: 'Ask to join',
  joinSent: 'Your request to join {{org}} is waiting for an admin.',
  joinNoLink: 'This page needs the link you were sent, in full.',
};

const es: typeof en = {
  teamJoinLink: 'Enlace para compartir',
  teamJoinLinkHelp:
    'Quien abra el enlace con su sesión iniciada puede pedir unirse; cada solicitud espera a que un administrador la apruebe con un rol.',
  teamJoinLinkOn: 'Activo desde el {{date}}. Rótalo para que el enlace anterior deje de funcionar.',
  teamJoinLinkOff: 'Desactivado.',
  teamJoinLinkOnce: 'Copia el enlace ahora: solo se muestra esta vez.',
  teamJoinLinkCreate: 'Crear enlace',
  teamJoinLinkRotate: 'Rotar enlace',
  teamJoinLinkDisable: 'Desactivar',
  teamJoinRequests: 'Solicitudes para unirse',
  teamApprove: 'Aprobar',
  teamDeny: 'Rechazar',
  joinTitle: 'Unirse a una organización',
  joinHelp: 'Abriste un enlace para compartir. Pide unirte y un administrador de la organización decidirá.',
  joinAsk: 'Pedir unirme',
  joinSent: 'Tu solicitud para unirte a {{org}} espera a un administrador.',
  joinNoLink: 'Esta página necesita el enlace que te enviaron, completo.',
};

export const teamStrings: Strings = { en, es };
