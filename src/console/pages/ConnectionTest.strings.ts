import type { Strings } from '../strings-bundle.ts';

/** A connection test's outcome (AI connections, integrations), by the server's `code`. */
const en = {
  connTestTitle: 'Connection test',
  connTest_ok: 'Connected in {{ms}} ms.',
  connTest_url_not_allowed:
    'Gatehouse does not send requests to this address: use an https:// address on the public internet, or ask the operator to allow it (OUTBOUND_ALLOWLIST).',
  connTest_dns: 'The host name does not resolve: check the address.',
  connTest_connect: 'Could not connect to the address: check it, and that the service is up.',
  connTest_tls: 'The secure connection (TLS) failed: check the address and its certificate.',
  connTest_timeout: 'No answer in time: the service may be down or slow.',
  connTest_too_large: 'The answer was too large.',
  connTest_protocol: 'The answer was not valid HTTP: check the address.',
  connTest_unauthorized: 'The key or token was refused ({{status}}): check it, or give a new one.',
  connTest_forbidden: 'Access was refused ({{status}}): the key or token lacks a permission.',
  connTest_not_found: 'Nothing was found at the address ({{status}}): check the base URL.',
  connTest_not_found_azure:
    'Nothing was found at the address ({{status}}): check the endpoint and the API version.',
  connTest_rate_limited: 'The service is limiting requests ({{status}}): try again later.',
  connTest_service_error: 'The service failed to answer ({{status}}): try again later.',
  connTest_http_error: 'The service answered {{status}}.',
  connTest_unexpected_answer: 'The service answered, but not as expected: check the base URL.',
  connTest_model_not_found: 'The provider does not offer the model {{model}}: check its name.',
  connTestSaid: 'What the service said',
  connTestStatus: 'HTTP status',
  connTestNoAnswer: 'No answer',
  connTestLatency: 'Time',
  connTestMs: '{{ms}} ms',
  connTestWhen: 'Tested {{when}}',
};

const es: Strings<typeof en>['es'] = {
  connTestTitle: 'Prueba de conexión',
  connTest_ok: 'Conectado en {{ms}} ms.',
  connTest_url_not_allowed:
    'Gatehouse no envía solicitudes a esta dirección: usa una dirección https:// de internet pública o pide al operador que la permita (OUTBOUND_ALLOWLIST).',
  connTest_dns: 'El nombre del servidor no se resuelve: revisa la dirección.',
  connTest_connect: 'No se pudo conectar con la dirección: revísala y comprueba que el servicio funciona.',
  connTest_tls: 'Falló la conexión segura (TLS): revisa la dirección y su certificado.',
  connTest_timeout: 'No hubo respuesta a tiempo: el servicio puede estar caído o lento.',
  connTest_too_large: 'La respuesta era demasiado grande.',
  connTest_protocol: 'La respuesta no era HTTP válido: revisa la dirección.',
  connTest_unauthorized: 'Se rechazó la clave o el token ({{status}}): revísalo o indica uno nuevo.',
  connTest_forbidden: 'Se denegó el acceso ({{status}}): a la clave o al token le falta un permiso.',
  connTest_not_found: 'No se encontró nada en la dirección ({{status}}): revisa la URL base.',
  connTest_not_found_azure:
    'No se encontró nada en la dirección ({{status}}): revisa el endpoint y la versión de la API.',
  connTest_rate_limited: 'El servicio está limitando las solicitudes ({{status}}): inténtalo más tarde.',
  connTest_service_error: 'El servicio no pudo responder ({{status}}): inténtalo más tarde.',
  connTest_http_error: 'El servicio respondió {{status}}.',
  connTest_unexpected_answer: 'El servicio respondió, pero no lo esperado: revisa la URL base.',
  connTest_model_not_found: 'El proveedor no ofrece el modelo {{model}}: revisa su nombre.',
  connTestSaid: 'Lo que dijo el servicio',
  connTestStatus: 'Estado HTTP',
  connTestNoAnswer: 'Sin respuesta',
  connTestLatency: 'Tiempo',
  connTestMs: '{{ms}} ms',
  connTestWhen: 'Probado el {{when}}',
};

export const connectionTestStrings: Strings<typeof en> = { en, es };
