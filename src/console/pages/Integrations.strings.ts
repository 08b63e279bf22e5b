import type { Strings } from '../strings-bundle.ts';

/** Settings → Integrations. */
const en = {
  integrationsNav: 'Integrations',
  integrationsTitle: 'Integrations',
  integrationsIntro:
    'Connect your source code hosts, ticketing, container registries, clouds and chat. Secrets are stored encrypted and never shown again; test a connection to see that the service takes them.',
  integrationsNoPermission:
    'Your role does not let you see the integrations (integrations:read). Ask an Owner, Admin or Cyberoper of this organization.',
  integrationsReadOnly: 'Your role lets you see the integrations, not change them (integrations:manage).',
  integrationsNone: 'No integrations yet.',
  integrationsLoading: 'Loading the integrations',
  integrationAdd: 'Add integration',
  integrationAddTitle: 'Add an integration',
  integrationEditTitle: 'Edit {{name}}',
  integrationName: 'Name',
  integrationKind: 'Kind',
  integrationProvider: 'Provider',
  integrationStatus: 'Status',
  integrationLastCheck: 'Last test',
  integrationNeverChecked: 'Never tested',
  integrationStatus_untested: 'Untested',
  integrationStatus_connected: 'Connected',
  integrationStatus_failing: 'Failing',
  integrationKind_scm: 'Source code (SCM)',
  integrationKind_ticketing: 'Ticketing',
  integrationKind_registry: 'Container registry',
  integrationKind_cloud: 'Cloud provider',
  integrationKind_chat: 'Chat',
  integrationProvider_generic: 'Other (generic)',
  integrationBaseUrl: 'API base URL',
  integrationBaseUrlHelp: 'Where the service’s API is (an https:// address), like {{example}}.',
  integrationBaseUrlHelpGeneric:
    'Where the service’s API is (an https:// address). The test calls this address.',
  integrationEmail: 'Account email',
  integrationEmailHelp:
    'Jira Cloud: the email of the account the API token belongs to (leave empty for a Data Center token).',
  integrationAuthHeader: 'Header for the secret',
  integrationAuthHeaderHelp:
    'The header the secret is sent in, like X-Api-Key. Leave empty to send it as “Authorization: Bearer”.',
  integrationSecret: 'Secret',
  integrationSecretHelp: 'The token, API key or password. Stored encrypted and never shown again.',
  integrationSecretStored: 'A secret is stored; it is never shown. Leave empty to keep it.',
  integrationSecretAgain:
    'The base URL changed: give the secret again (it is only sent to the address it was given for), or remove it.',
  integrationSecretRemove: 'Remove the stored secret',
  integrationSave: 'Save',
  integrationCreated: 'Integration added.',
  integrationSaved: 'Integration saved.',
  integrationNameTaken: 'Another integration of this organization already has this name.',
  integrationTest: 'Test',
  integrationTestLabel: 'Test {{name}}',
  integrationEdit: 'Edit',
  integrationEditLabel: 'Edit {{name}}',
  integrationDisconnect: 'Disconnect',
  integrationDisconnectLabel: 'Disconnect {{name}}',
  integrationDisconnectTitle: 'Disconnect {{name}}?',
  integrationDisconnectConfirm:
    'Its settings and stored secret are deleted. This cannot be undone: to connect it again, add it again with its secret.',
  integrationDisconnected: 'Integration disconnected.',
  integrationTestTitle: 'Test of {{name}}',
};

const es: Strings<typeof en>['es'] = {
  integrationsNav: 'Integraciones',
  integrationsTitle: 'Integraciones',
  integrationsIntro:
    'Conecta tus repositorios de código, gestores de incidencias, registros de contenedores, nubes y chat. Los secretos se guardan cifrados y no se vuelven a mostrar; prueba una conexión para ver que el servicio los acepta.',
  integrationsNoPermission:
    'Tu rol no te permite ver las integraciones (integrations:read). Pídeselo a un Propietario, Administrador o Ciberoperador de esta organización.',
  integrationsReadOnly: 'Tu rol te permite ver las integraciones, no cambiarlas (integrations:manage).',
  integrationsNone: 'Todavía no hay integraciones.',
  integrationsLoading: 'Cargando las integraciones',
  integrationAdd: 'Añadir integración',
  integrationAddTitle: 'Añadir una integración',
  integrationEditTitle: 'Editar {{name}}',
  integrationName: 'Nombre',
  integrationKind: 'Tipo',
  integrationProvider: 'Proveedor',
  integrationStatus: 'Estado',
  integrationLastCheck: 'Última prueba',
  integrationNeverChecked: 'Nunca probada',
  integrationStatus_untested: 'Sin probar',
  integrationStatus_connected: 'Conectada',
  integrationStatus_failing: 'Con fallos',
  integrationKind_scm: 'Código fuente (SCM)',
  integrationKind_ticketing: 'Gestión de incidencias',
  integrationKind_registry: 'Registro de contenedores',
  integrationKind_cloud: 'Proveedor de nube',
  integrationKind_chat: 'Chat',
  integrationProvider_generic: 'Otro (genérico)',
  integrationBaseUrl: 'URL base de la API',
  integrationBaseUrlHelp: 'Dónde está la API del servicio (una dirección https://), como {{example}}.',
  integrationBaseUrlHelpGeneric:
    'Dónde está la API del servicio (una dirección https://). La prueba llama a esta dirección.',
  integrationEmail: 'Correo de la cuenta',
  integrationEmailHelp:
    'Jira Cloud: el correo de la cuenta a la que pertenece el token de API (vacío para un token de Data Center).',
  integrationAuthHeader: 'Cabecera del secreto',
  integrationAuthHeaderHelp:
    'La cabecera en la que se envía el secreto, como X-Api-Key. Déjalo vacío para enviarlo como «Authorization: Bearer».',
  integrationSecret: 'Secreto',
  integrationSecretHelp:
    'El token, la clave de API o la contraseña. Se guarda cifrado y no se vuelve a mostrar.',
  integrationSecretStored: 'Hay un secreto guardado; nunca se muestra. Déjalo vacío para conservarlo.',
  integrationSecretAgain:
    'La URL base ha cambiado: vuelve a indicar el secreto (solo se envía a la dirección para la que se dio) o quítalo.',
  integrationSecretRemove: 'Quitar el secreto guardado',
  integrationSave: 'Guardar',
  integrationCreated: 'Integración añadida.',
  integrationSaved: 'Integración guardada.',
  integrationNameTaken: 'Otra integración de esta organización ya tiene este nombre.',
  integrationTest: 'Probar',
  integrationTestLabel: 'Probar {{name}}',
  integrationEdit: 'Editar',
  integrationEditLabel: 'Editar {{name}}',
  integrationDisconnect: 'Desconectar',
  integrationDisconnectLabel: 'Desconectar {{name}}',
  integrationDisconnectTitle: '¿Desconectar {{name}}?',
  integrationDisconnectConfirm:
    'Se eliminan su configuración y el secreto guardado. No se puede deshacer: para volver a conectarla, añádela de nuevo con su secreto.',
  integrationDisconnected: 'Integración desconectada.',
  integrationTestTitle: 'Prueba de {{name}}',
};

export const integrationsStrings: Strings<typeof en> = { en, es };
