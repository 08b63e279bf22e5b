import type { Strings } from '../strings-bundle.ts';

const en = {
  scimNav: 'SCIM provisioning',
  scimTitle: 'SCIM provisioning',
  scimIntro:
    'Let your identity provider (Okta, Microsoft Entra ID…) add, update and remove this organization’s members on its own, with SCIM 2.0. Someone it deactivates or deletes loses access at once.',
  scimNoPermission:
    'Your role does not let you manage SCIM provisioning (sso:manage). Ask an Owner or Admin of this organization.',
  scimLoading: 'Loading SCIM provisioning',
  scimPlanTitle: 'SCIM provisioning is not part of the {{plan}} plan',
  scimPlan:
    'On this plan, creating a SCIM token is refused, and so is every request of an identity provider. SCIM provisioning needs the {{needed}} plan or a higher one; only an Owner can change the plan.',

  scimConnectTitle: 'Connect your identity provider',
  scimBaseUrl: 'SCIM base URL',
  scimConnectHelp:
    'Give your identity provider this base URL and a SCIM token (create one below). The token goes in the Authorization header of every request, as a bearer token:',
  scimOkta:
    'in the app’s Provisioning tab, under Integration, set “SCIM connector base URL” to this URL, “Unique identifier field for users” to userName and “Authentication Mode” to HTTP Header, and paste the token as the Bearer token. Then, under To App, turn on Create Users, Update User Attributes and Deactivate Users.',
  scimEntra:
    'in the enterprise application, open Provisioning and set the mode to Automatic; put this URL in “Tenant URL” and the token in “Secret Token”, then Test Connection and Save.',
  scimRoles:
    'People the identity provider adds join with the default role set under Single sign-on; its group mappings give a role to the members of a group it sends.',

  scimTokensTitle: 'SCIM tokens',
  scimTokensHelp:
    'One token for each identity provider app. A revoked token’s next request is refused. Its last use shows whether the identity provider is calling.',
  scimTokensNone: 'No SCIM tokens yet.',
  scimTokenNew: 'New token',
  scimTokenNewTitle: 'New SCIM token',
  scimTokenNameHelp: 'Which identity provider or app uses it, e.g. “Okta production”.',
  scimTokenHint: 'Token',
  scimRevealTitle: 'Copy the SCIM token now',
  scimRevealHelp:
    'It will not be shown again: Gatehouse keeps only a hash of it. Paste it into your identity provider as the bearer token now, or store it somewhere safe.',
  scimTokenRevokeConfirm:
    'The identity provider using this token can no longer add or remove members: its next request is refused. This cannot be undone; create a new token to connect it again.',

  scimLogTitle: 'Request log',
  scimLogHelp:
    'What your identity provider asked and what Gatehouse answered, newest first, for 30 days. A refusal says why.',
  scimLogRefresh: 'Refresh',
  scimLogNone: 'No requests from your identity provider yet.',
  scimLogMethod: 'Method',
  scimLogPath: 'Path',
  scimLogError: 'Error',
};

const es: Strings<typeof en>['es'] = {
  scimNav: 'Aprovisionamiento SCIM',
  scimTitle: 'Aprovisionamiento SCIM',
  scimIntro:
    'Permite que tu proveedor de identidad (Okta, Microsoft Entra ID…) añada, actualice y quite por sí solo a los miembros de esta organización con SCIM 2.0. Quien desactive o elimine pierde el acceso al instante.',
  scimNoPermission:
    'Tu rol no te permite gestionar el aprovisionamiento SCIM (sso:manage). Pídeselo a un Propietario o Administrador de esta organización.',
  scimLoading: 'Cargando el aprovisionamiento SCIM',
  scimPlanTitle: 'El aprovisionamiento SCIM no forma parte del plan {{plan}}',
  scimPlan:
    'Con este plan se rechaza crear un token SCIM, y también toda petición de un proveedor de identidad. El aprovisionamiento SCIM necesita el plan {{needed}} o uno superior; solo un Propietario puede cambiar el plan.',

  scimConnectTitle: 'Conecta tu proveedor de identidad',
  scimBaseUrl: 'URL base de SCIM',
  scimConnectHelp:
    'Da a tu proveedor de identidad esta URL base y un token SCIM (créalo abajo). El token va en la cabecera Authorization de cada petición, como token portador (bearer):',
  scimOkta:
    'en la pestaña Provisioning de la aplicación, en Integration, pon esta URL en «SCIM connector base URL», userName en «Unique identifier field for users» y HTTP Header en «Authentication Mode», y pega el token como Bearer token. Después, en To App, activa Create Users, Update User Attributes y Deactivate Users.',
  scimEntra:
    'en la aplicación empresarial, abre Aprovisionamiento y elige el modo Automático; pon esta URL en «URL del inquilino» y el token en «Token secreto», y luego Probar conexión y Guardar.',
  scimRoles:
    'Las personas que añade el proveedor de identidad entran con el rol predeterminado del inicio de sesión único; sus asignaciones de grupos dan un rol a los miembros de cada grupo que envía.',

  scimTokensTitle: 'Tokens SCIM',
  scimTokensHelp:
    'Un token por cada aplicación del proveedor de identidad. La siguiente petición de un token revocado se rechaza. Su último uso indica si el proveedor de identidad está llamando.',
  scimTokensNone: 'Aún no hay tokens SCIM.',
  scimTokenNew: 'Nuevo token',
  scimTokenNewTitle: 'Nuevo token SCIM',
  scimTokenNameHelp: 'Qué proveedor de identidad o aplicación lo usa, p. ej. «Okta producción».',
  scimTokenHint: 'Token',
  scimRevealTitle: 'Copia el token SCIM ahora',
  scimRevealHelp:
    'No se volverá a mostrar: Gatehouse solo guarda un hash. Pégalo ahora en tu proveedor de identidad como token portador (bearer) o guárdalo en un lugar seguro.',
  scimTokenRevokeConfirm:
    'El proveedor de identidad que usa este token ya no podrá añadir ni quitar miembros: su siguiente petición se rechaza. No se puede deshacer; crea un token nuevo para volver a conectarlo.',

  scimLogTitle: 'Registro de peticiones',
  scimLogHelp:
    'Lo que pidió tu proveedor de identidad y lo que respondió Gatehouse, lo más reciente primero, durante 30 días. Un rechazo dice por qué.',
  scimLogRefresh: 'Actualizar',
  scimLogNone: 'Aún no hay peticiones de tu proveedor de identidad.',
  scimLogMethod: 'Método',
  scimLogPath: 'Ruta',
  scimLogError: 'Error',
};

export const scimStrings: Strings<typeof en> = { en, es };
