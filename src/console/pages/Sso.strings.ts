import type { Strings } from '../strings-bundle.ts';

const en = {
  ssoNav: 'Single sign-on',
  ssoTitle: 'Single sign-on (SSO)',
  ssoIntro:
    'Let members sign in through your organization’s identity provider (Okta, Entra ID, Google Workspace, Keycloak…) with OpenID Connect or SAML.',
  ssoNoPermission:
    'Your role does not let you manage single sign-on (sso:manage). Ask an Owner or Admin of this organization.',
  ssoLoading: 'Loading the single sign-on settings',
  copyNamed: 'Copy {{what}}',

  ssoIdpTitle: 'Identity provider',
  ssoConnected: 'Connected with {{protocol}}.',
  ssoNotConnected: 'No identity provider is connected yet.',
  ssoProtocol: 'Protocol',
  ssoOneIdp: 'An organization has one identity provider: disconnect this one to use the other protocol.',
  ssoOtherProtocolConnected:
    'This organization already signs in with the other protocol: disconnect that identity provider first.',
  ssoIssuer: 'Issuer URL',
  ssoIssuerHelp:
    'The identity provider’s issuer, e.g. https://login.example.com. Its discovery document is read when you save.',
  ssoClientId: 'Client ID',
  ssoClientSecret: 'Client secret',
  ssoSecretStored: 'Stored',
  ssoClientSecretHelp: 'Stored encrypted and never shown again.',
  ssoClientSecretKeep:
    'A secret is stored; it is never shown. Leave this empty to keep it, or type a new one to replace it.',
  ssoScopes: 'Scopes',
  ssoScopesHelp: 'Separated by spaces. openid is always asked for.',
  ssoRedirectUri: 'Redirect URI',
  ssoRedirectUriHelp:
    'Register this redirect URI with the application at your identity provider, exactly as shown.',
  ssoConnect: 'Connect',
  ssoSave: 'Save changes',
  ssoOidcConnected: 'OIDC identity provider connected.',
  ssoOidcSaved: 'OIDC identity provider saved.',
  ssoSamlConnected: 'SAML identity provider connected.',
  ssoSamlSaved: 'SAML identity provider saved.',
  ssoIdpDetail: 'What the server found: {{detail}}',
  ssoDisconnect: 'Disconnect',
  ssoDisconnectTitle: 'Disconnect {{protocol}}?',
  ssoDisconnectConfirm:
    'Members can no longer sign in with SSO until an identity provider is connected again. Their accounts stay linked: reconnecting the same provider signs the same people in.',
  ssoDisconnectEnforced:
    'SSO is enforced: disconnecting would leave members no way in, so it is refused. Set enforcement to “Optional” or “Preferred” under Policy first.',
  ssoDisconnected: 'Identity provider disconnected.',

  ssoSpHelp:
    'Give your identity provider these values of Gatehouse (the service provider), or the metadata URL alone:',
  ssoSpEntityId: 'Entity ID (audience)',
  ssoAcsUrl: 'Assertion consumer service (ACS) URL',
  ssoMetadataUrl: 'Service provider metadata URL',
  ssoMetadataOpen: 'Open the service provider metadata (XML)',
  ssoSamlHow: 'How to give the identity provider’s settings',
  ssoSamlReplace: 'Replace the identity provider’s settings',
  ssoSamlWayXml: 'Metadata XML',
  ssoSamlWayUrl: 'Metadata URL',
  ssoSamlWayManual: 'By hand',
  ssoSamlXml: 'Identity provider metadata (XML)',
  ssoSamlXmlHelp: 'Paste the metadata document your identity provider offers for this application.',
  ssoSamlUrl: 'Metadata URL',
  ssoSamlUrlHelp: 'Read now, when you save; read again only when you save again.',
  ssoSamlEntityId: 'Identity provider entity ID',
  ssoSamlSsoUrl: 'Single sign-on URL',
  ssoSamlSsoUrlHelp: 'Where sign-in requests are sent (HTTP-Redirect binding).',
  ssoSamlCertificates: 'Signing certificates (PEM)',
  ssoSamlCertificatesHelp:
    'Paste one or more certificates, each from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----. During a rotation, paste both the old and the new one.',
  ssoSamlCertificatesAgain:
    'The saved certificates are listed above; paste every certificate to keep (and any new one), each from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.',
  ssoCertificates: 'Signing certificates',
  ssoCertSubject: 'Subject',
  ssoCertFingerprint: 'Fingerprint (SHA-256)',
  ssoCertExpires: 'Expires',
  ssoCertExpired: 'Expired',
  ssoCertExpiring_one: 'Expires in {{count}} day',
  ssoCertExpiring_other: 'Expires in {{count}} days',
  ssoCertValid: 'Valid',

  ssoTest: 'Test sign-in',
  ssoTestHelp:
    'Sign in at the identity provider and see what it sends about you, without changing your own session here. Check it before enforcing SSO.',
  ssoTestNeedsIdp: 'Connect an identity provider to test signing in through it.',
  ssoTestOk: 'Test sign-in worked',
  ssoTestOkHelp: 'The identity provider signed you in and sent this (you are still signed in as before):',
  ssoTestFailed: 'Test sign-in failed',
  ssoTestDismiss: 'Dismiss',
  ssoTestProtocol: 'Protocol',
  ssoTestSubject: 'Subject (the person’s ID there)',
  ssoTestGroups: 'Groups',
  ssoTestNone: 'None sent',
  ssoTestVerified: 'verified',
  ssoTestUnverified: 'not verified',
  ssoTestNoEmail:
    'No email address was sent: people cannot be signed in or added without one. Have the identity provider send the email claim or attribute.',
  ssoTestEmailUnverified:
    'The identity provider does not vouch for this email address (email_verified), so new people would be refused.',
  ssoTestNoGroups: 'No groups came in “{{attribute}}”: group mappings will not match.',
  ssoTestGroupsNotRead:
    'Groups are not read: set the groups claim or attribute under Policy to use group mappings.',

  ssoPolicyTitle: 'Policy',
  ssoEnforcement: 'Who signs in with SSO',
  ssoEnforcement_coexist: 'Optional',
  ssoEnforcement_coexist_help: 'Members may sign in with SSO, or with their password or passkey.',
  ssoEnforcement_preferred: 'Preferred',
  ssoEnforcement_preferred_help:
    'SSO is the way in you recommend to members; their password and passkeys keep working.',
  ssoEnforcement_enforced: 'Required',
  ssoEnforcement_enforced_help:
    'Members must sign in with SSO: a session signed in any other way cannot reach this organization until they sign in with SSO.',
  ssoEnforcementNeedsIdp: 'Connect an identity provider first.',
  ssoEnforceNeedsIdp: 'Connect an identity provider (OIDC or SAML) before requiring SSO.',
  ssoEnforceFirstTitle: 'Sign in with SSO first',
  ssoEnforceFirst:
    'You did not sign in with SSO, so requiring it would lock you out. Check it with Test sign-in, then sign in with SSO (your account is linked when the identity provider gives the same email), and come back to require it.',
  ssoSignInNow: 'Sign in with SSO now',
  ssoJit: 'Add people on their first sign-in (just-in-time provisioning)',
  ssoJitHelp:
    'Someone your identity provider signs in who is not a member yet joins with the role of their group mapping, else the default role. Off: only members and invited people get in.',
  ssoDefaultRole: 'Default role',
  ssoDefaultRoleHelp: 'For people added on their first sign-in when no group mapping matches. Never Owner.',
  ssoGroupsAttribute: 'Groups claim or attribute',
  ssoGroupsAttributeHelp:
    'The OIDC claim or SAML attribute listing a person’s groups, for the group mappings. Empty: groups are not read.',
  ssoGroupsAttributeRule: 'Use a name on one line, without control characters.',
  ssoDomains: 'Email domains',
  ssoDomainsHelp:
    'People whose email is at one of these domains are sent to this identity provider by “Sign in with SSO”. One per line, like example.com.',
  ssoDomainRule: 'Each line must be a domain like example.com (no @, no https://).',
  ssoIdpInitiated: 'Allow sign-in started at the identity provider (SAML)',
  ssoIdpInitiatedHelp:
    'Accept answers the identity provider sends without Gatehouse asking (e.g. from its app launcher). Off is safer.',
  ssoPolicySave: 'Save policy',
  ssoPolicySaved: 'Single sign-on policy saved.',
  ssoDiscard: 'Discard changes',

  ssoMappingsTitle: 'Group mappings',
  ssoMappingsHelp:
    'When someone is added on their first sign-in, the first mapping whose group the identity provider sends gives their role; otherwise they get the default role. Later sign-ins keep the role they have.',
  ssoMappingsNeedJit: 'Group mappings apply only while just-in-time provisioning is on.',
  ssoMappingsNone: 'No group mappings yet.',
  ssoMappingGroup: 'Identity provider group',
  ssoMappingGroupHelp: 'As the identity provider sends it.',
  ssoMappingRole: 'Role',
  ssoMappingRoleHelp: 'Never Owner.',
  ssoMappingAdd: 'Add mapping',
  ssoMappingAdded: 'Group “{{group}}” mapped.',
  ssoMappingExists: 'This group is mapped already: delete its mapping first to change its role.',
  ssoMappingDelete: 'Delete',
  ssoMappingDeleteLabel: 'Delete the mapping of {{group}}',
  ssoMappingDeleteTitle: 'Delete this group mapping?',
  ssoMappingDeleteConfirm:
    'People in “{{group}}” will no longer be given {{role}} when first added. Members keep the roles they have.',
  ssoMappingDeleted: 'Mapping of “{{group}}” deleted.',

  ssoSignInButton: 'Sign in with SSO',
  ssoSignInWho: 'Work email or organization ID',
  ssoSignInWhoHelp: 'We send you to your organization’s identity provider.',
  ssoSignInWhoInvalid: 'Enter your work email (name@company.com) or your organization’s ID.',
  ssoSignInContinue: 'Continue with SSO',
  ssoSignInNone: 'No single sign-on is set up for this email or organization.',
};

const es: Strings<typeof en>['es'] = {
  ssoNav: 'Inicio de sesión único',
  ssoTitle: 'Inicio de sesión único (SSO)',
  ssoIntro:
    'Permite que los miembros inicien sesión mediante el proveedor de identidad de tu organización (Okta, Entra ID, Google Workspace, Keycloak…) con OpenID Connect o SAML.',
  ssoNoPermission:
    'Tu rol no te permite gestionar el inicio de sesión único (sso:manage). Pídeselo a un Propietario o Administrador de esta organización.',
  ssoLoading: 'Cargando la configuración del inicio de sesión único',
  copyNamed: 'Copiar {{what}}',

  ssoIdpTitle: 'Proveedor de identidad',
  ssoConnected: 'Conectado con {{protocol}}.',
  ssoNotConnected: 'Aún no hay ningún proveedor de identidad conectado.',
  ssoProtocol: 'Protocolo',
  ssoOneIdp:
    'Una organización tiene un único proveedor de identidad: desconecta este para usar el otro protocolo.',
  ssoOtherProtocolConnected:
    'Esta organización ya inicia sesión con el otro protocolo: desconecta antes ese proveedor de identidad.',
  ssoIssuer: 'URL del emisor',
  ssoIssuerHelp:
    'El emisor (issuer) del proveedor de identidad, p. ej. https://login.example.com. Su documento de descubrimiento se lee al guardar.',
  ssoClientId: 'ID de cliente',
  ssoClientSecret: 'Secreto de cliente',
  ssoSecretStored: 'Guardado',
  ssoClientSecretHelp: 'Se guarda cifrado y no se vuelve a mostrar.',
  ssoClientSecretKeep:
    'Hay un secreto guardado; nunca se muestra. Déjalo vacío para conservarlo, o escribe uno nuevo para sustituirlo.',
  ssoScopes: 'Alcances',
  ssoScopesHelp: 'Separados por espacios. Siempre se pide openid.',
  ssoRedirectUri: 'URI de redirección',
  ssoRedirectUriHelp:
    'Registra esta URI de redirección en la aplicación de tu proveedor de identidad, tal como aparece.',
  ssoConnect: 'Conectar',
  ssoSave: 'Guardar cambios',
  ssoOidcConnected: 'Proveedor de identidad OIDC conectado.',
  ssoOidcSaved: 'Proveedor de identidad OIDC guardado.',
  ssoSamlConnected: 'Proveedor de identidad SAML conectado.',
  ssoSamlSaved: 'Proveedor de identidad SAML guardado.',
  ssoIdpDetail: 'Lo que encontró el servidor: {{detail}}',
  ssoDisconnect: 'Desconectar',
  ssoDisconnectTitle: '¿Desconectar {{protocol}}?',
  ssoDisconnectConfirm:
    'Los miembros no podrán iniciar sesión con SSO hasta que se vuelva a conectar un proveedor de identidad. Sus cuentas siguen vinculadas: al reconectar el mismo proveedor, entran las mismas personas.',
  ssoDisconnectEnforced:
    'El SSO es obligatorio: desconectarlo dejaría a los miembros sin forma de entrar, así que se rechaza. Cambia antes la exigencia a «Opcional» o «Preferido» en Política.',
  ssoDisconnected: 'Proveedor de identidad desconectado.',

  ssoSpHelp:
    'Da a tu proveedor de identidad estos valores de Gatehouse (el proveedor de servicios), o solo la URL de metadatos:',
  ssoSpEntityId: 'ID de entidad (audiencia)',
  ssoAcsUrl: 'URL del servicio consumidor de aserciones (ACS)',
  ssoMetadataUrl: 'URL de metadatos del proveedor de servicios',
  ssoMetadataOpen: 'Abrir los metadatos del proveedor de servicios (XML)',
  ssoSamlHow: 'Cómo dar la configuración del proveedor de identidad',
  ssoSamlReplace: 'Sustituir la configuración del proveedor de identidad',
  ssoSamlWayXml: 'XML de metadatos',
  ssoSamlWayUrl: 'URL de metadatos',
  ssoSamlWayManual: 'A mano',
  ssoSamlXml: 'Metadatos del proveedor de identidad (XML)',
  ssoSamlXmlHelp: 'Pega el documento de metadatos que tu proveedor de identidad ofrece para esta aplicación.',
  ssoSamlUrl: 'URL de metadatos',
  ssoSamlUrlHelp: 'Se lee ahora, al guardar; solo se vuelve a leer cuando vuelvas a guardar.',
  ssoSamlEntityId: 'ID de entidad del proveedor de identidad',
  ssoSamlSsoUrl: 'URL de inicio de sesión único',
  ssoSamlSsoUrlHelp: 'Adonde se envían las solicitudes de inicio de sesión (enlace HTTP-Redirect).',
  ssoSamlCertificates: 'Certificados de firma (PEM)',
  ssoSamlCertificatesHelp:
    'Pega uno o varios certificados, cada uno desde -----BEGIN CERTIFICATE----- hasta -----END CERTIFICATE-----. Durante una rotación, pega el antiguo y el nuevo.',
  ssoSamlCertificatesAgain:
    'Los certificados guardados aparecen arriba; pega todos los que quieras conservar (y los nuevos), cada uno desde -----BEGIN CERTIFICATE----- hasta -----END CERTIFICATE-----.',
  ssoCertificates: 'Certificados de firma',
  ssoCertSubject: 'Sujeto',
  ssoCertFingerprint: 'Huella (SHA-256)',
  ssoCertExpires: 'Caduca',
  ssoCertExpired: 'Caducado',
  ssoCertExpiring_one: 'Caduca en {{count}} día',
  ssoCertExpiring_other: 'Caduca en {{count}} días',
  ssoCertValid: 'Válido',

  ssoTest: 'Probar el inicio de sesión',
  ssoTestHelp:
    'Inicia sesión en el proveedor de identidad y mira lo que envía sobre ti, sin cambiar tu propia sesión aquí. Compruébalo antes de exigir el SSO.',
  ssoTestNeedsIdp: 'Conecta un proveedor de identidad para probar el inicio de sesión con él.',
  ssoTestOk: 'La prueba de inicio de sesión funcionó',
  ssoTestOkHelp:
    'El proveedor de identidad te identificó y envió esto (sigues con la misma sesión que antes):',
  ssoTestFailed: 'La prueba de inicio de sesión falló',
  ssoTestDismiss: 'Descartar',
  ssoTestProtocol: 'Protocolo',
  ssoTestSubject: 'Sujeto (el ID de la persona allí)',
  ssoTestGroups: 'Grupos',
  ssoTestNone: 'No se envió',
  ssoTestVerified: 'verificado',
  ssoTestUnverified: 'sin verificar',
  ssoTestNoEmail:
    'No se envió ninguna dirección de correo: sin ella no se puede iniciar la sesión de nadie ni darlo de alta. Haz que el proveedor de identidad envíe el claim o atributo de correo.',
  ssoTestEmailUnverified:
    'El proveedor de identidad no garantiza esta dirección de correo (email_verified), así que se rechazaría a las personas nuevas.',
  ssoTestNoGroups: 'No llegó ningún grupo en «{{attribute}}»: las asignaciones de grupos no coincidirán.',
  ssoTestGroupsNotRead:
    'No se leen los grupos: indica el claim o atributo de grupos en Política para usar asignaciones de grupos.',

  ssoPolicyTitle: 'Política',
  ssoEnforcement: 'Quién inicia sesión con SSO',
  ssoEnforcement_coexist: 'Opcional',
  ssoEnforcement_coexist_help:
    'Los miembros pueden iniciar sesión con SSO, o con su contraseña o llave de acceso.',
  ssoEnforcement_preferred: 'Preferido',
  ssoEnforcement_preferred_help:
    'El SSO es la forma de entrar que recomiendas a los miembros; su contraseña y sus llaves de acceso siguen funcionando.',
  ssoEnforcement_enforced: 'Obligatorio',
  ssoEnforcement_enforced_help:
    'Los miembros deben iniciar sesión con SSO: una sesión iniciada de otra forma no puede entrar en esta organización hasta que inicien sesión con SSO.',
  ssoEnforcementNeedsIdp: 'Conecta antes un proveedor de identidad.',
  ssoEnforceNeedsIdp: 'Conecta un proveedor de identidad (OIDC o SAML) antes de exigir el SSO.',
  ssoEnforceFirstTitle: 'Inicia sesión con SSO primero',
  ssoEnforceFirst:
    'No iniciaste sesión con SSO, así que exigirlo te dejaría fuera. Compruébalo con la prueba de inicio de sesión, inicia sesión con SSO (tu cuenta se vincula si el proveedor de identidad da el mismo correo) y vuelve para exigirlo.',
  ssoSignInNow: 'Iniciar sesión con SSO ahora',
  ssoJit: 'Dar de alta a las personas en su primer inicio de sesión (aprovisionamiento just-in-time)',
  ssoJitHelp:
    'Quien inicie sesión mediante tu proveedor de identidad sin ser aún miembro entra con el rol de su asignación de grupo o, si no hay, con el rol predeterminado. Desactivado: solo entran los miembros y las personas invitadas.',
  ssoDefaultRole: 'Rol predeterminado',
  ssoDefaultRoleHelp:
    'Para las personas dadas de alta en su primer inicio de sesión si ninguna asignación de grupo coincide. Nunca Propietario.',
  ssoGroupsAttribute: 'Claim o atributo de grupos',
  ssoGroupsAttributeHelp:
    'El claim de OIDC o el atributo de SAML que lista los grupos de una persona, para las asignaciones de grupos. Vacío: no se leen los grupos.',
  ssoGroupsAttributeRule: 'Usa un nombre en una sola línea, sin caracteres de control.',
  ssoDomains: 'Dominios de correo',
  ssoDomainsHelp:
    'Quien tenga un correo de uno de estos dominios irá a este proveedor de identidad al pulsar «Iniciar sesión con SSO». Uno por línea, como example.com.',
  ssoDomainRule: 'Cada línea debe ser un dominio como example.com (sin @ ni https://).',
  ssoIdpInitiated: 'Permitir el inicio de sesión empezado en el proveedor de identidad (SAML)',
  ssoIdpInitiatedHelp:
    'Aceptar respuestas que el proveedor de identidad envía sin que Gatehouse las pida (p. ej. desde su lanzador de aplicaciones). Desactivado es más seguro.',
  ssoPolicySave: 'Guardar la política',
  ssoPolicySaved: 'Política de inicio de sesión único guardada.',
  ssoDiscard: 'Descartar cambios',

  ssoMappingsTitle: 'Asignaciones de grupos',
  ssoMappingsHelp:
    'Cuando se da de alta a alguien en su primer inicio de sesión, la primera asignación cuyo grupo envía el proveedor de identidad le da su rol; si no, recibe el rol predeterminado. Los inicios de sesión posteriores conservan el rol que tenga.',
  ssoMappingsNeedJit:
    'Las asignaciones de grupos solo se aplican con el aprovisionamiento just-in-time activado.',
  ssoMappingsNone: 'Aún no hay asignaciones de grupos.',
  ssoMappingGroup: 'Grupo del proveedor de identidad',
  ssoMappingGroupHelp: 'Tal como lo envía el proveedor de identidad.',
  ssoMappingRole: 'Rol',
  ssoMappingRoleHelp: 'Nunca Propietario.',
  ssoMappingAdd: 'Añadir asignación',
  ssoMappingAdded: 'Grupo «{{group}}» asignado.',
  ssoMappingExists: 'Este grupo ya está asignado: elimina antes su asignación para cambiarle el rol.',
  ssoMappingDelete: 'Eliminar',
  ssoMappingDeleteLabel: 'Eliminar la asignación de {{group}}',
  ssoMappingDeleteTitle: '¿Eliminar esta asignación de grupo?',
  ssoMappingDeleteConfirm:
    'A las personas de «{{group}}» ya no se les dará {{role}} al darlas de alta. Los miembros conservan sus roles.',
  ssoMappingDeleted: 'Asignación de «{{group}}» eliminada.',

  ssoSignInButton: 'Iniciar sesión con SSO',
  ssoSignInWho: 'Correo del trabajo o ID de la organización',
  ssoSignInWhoHelp: 'Te llevamos al proveedor de identidad de tu organización.',
  ssoSignInWhoInvalid: 'Escribe tu correo del trabajo (nombre@empresa.com) o el ID de tu organización.',
  ssoSignInContinue: 'Continuar con SSO',
  ssoSignInNone: 'No hay inicio de sesión único configurado para este correo u organización.',
};

export const ssoStrings: Strings<typeof en> = { en, es };
