import type { Strings } from './strings-bundle.ts';

/** Problems the API answers with, and field errors, in the reader's language (problems.tsx). */
const en = {
  problem_validation_failed_title: 'Some fields need attention',
  problem_validation_failed: 'Correct the fields marked below, then try again.',
  problem_malformed_request_title: 'The request could not be read',
  problem_malformed_request: 'Reload the page and try again; the console may be out of date.',
  problem_payload_too_large_title: 'That is too large',
  problem_payload_too_large: 'Send a smaller file or fewer items.',
  problem_unsupported_media_type_title: 'That kind of file is not accepted',
  problem_unsupported_media_type: 'Use one of the formats this page names.',
  problem_unauthenticated_title: 'You are signed out',
  problem_unauthenticated: 'Your session ended. Sign in again to continue.',
  problem_invalid_credentials_title: 'Wrong email or password',
  problem_invalid_credentials: 'Check both and try again. No account yet? Create one.',
  problem_second_factor_required_title: 'Enter your authentication code',
  problem_second_factor_required:
    'Your account has two-factor authentication on. Enter the 6-digit code from your authenticator app, or one of your recovery codes.',
  problem_invalid_second_factor_title: 'That code is not right',
  problem_invalid_second_factor:
    'Enter the current code from your authenticator app (each code works once), or an unused recovery code.',
  problem_email_unverified_title: 'Verify your email address first',
  problem_email_unverified:
    'Two-factor authentication and passkeys can be added once your address is proven: follow the link we mailed you (the Account page can send a new one).',
  problem_two_factor_required_title: 'Two-factor authentication or a passkey is required',
  problem_two_factor_required:
    'An organization you belong to requires two-factor authentication or a passkey: turn two-factor authentication on (Account security), or sign in with a passkey, to keep working there — your account pages and leaving the organization still work. Two-factor authentication cannot be turned off while that organization requires it, unless you have a passkey.',
  problem_permission_denied_title: 'Your role does not allow this',
  problem_permission_denied:
    'Ask an Owner or Admin of this organization to do it for you, or to give you a role that allows it.',
  problem_forbidden_origin_title: 'Refused: the request came from another site',
  problem_forbidden_origin:
    'For your safety, changes are only accepted from the console itself. Open the console at its own address and try again.',
  problem_session_required_title: 'This needs a signed-in browser',
  problem_session_required: 'API tokens cannot do this. Sign in to the console and do it there.',
  problem_token_limit_title: 'You have reached the token limit',
  problem_token_limit: 'Revoke tokens you no longer use, then create the new one.',
  problem_org_limit_title: 'You own as many organizations as one person may',
  problem_org_limit:
    'Delete an organization you no longer use, or transfer its ownership to someone else, then try again.',
  problem_org_limit_grantee_title: 'They own as many organizations as one person may',
  problem_org_limit_grantee:
    'They cannot be made an owner here until they delete an organization they own or transfer its ownership to someone else.',
  problem_org_suspended_title: 'This organization is suspended',
  problem_org_suspended:
    'The operators of this installation suspended it: nothing in it can be seen or changed for now. Ask them, or the organization’s owners, why and when it will be lifted.',
  problem_ip_not_allowed_title: 'Not from this address',
  problem_ip_not_allowed:
    'This organization accepts requests only from the addresses on its allowlist, and yours is not on it. Connect from an allowed network (the office or the VPN), or ask an Admin to add your address.',
  problem_sso_required_title: 'Sign in with single sign-on',
  problem_sso_required:
    'This organization requires its members to sign in through its identity provider. Sign in with SSO to continue.',
  problem_sso_failed_title: 'Single sign-on did not complete',
  problem_sso_failed:
    'The identity provider’s answer could not be accepted. Start the sign-in again; if it keeps failing, ask an Admin to check the SSO settings.',
  problem_sso_link_required_title: 'Sign in to link your account',
  problem_sso_link_required:
    'An account with this email already exists. Sign in to it with your password or passkey first, then sign in with SSO again to link the two.',
  problem_idp_unreachable_title: 'The identity provider could not be reached',
  problem_idp_unreachable:
    'Check the address you entered, and that the identity provider is reachable from this server.',
  problem_idp_invalid_title: 'The identity provider’s configuration is not valid',
  problem_idp_invalid: 'Check the issuer or the metadata you entered; the reason is shown below.',
  problem_would_lock_out_title: 'This would lock you out',
  problem_would_lock_out: 'The change would refuse your own access. Fix that first, then save again.',
  problem_would_lock_out_ip_allowlist:
    'Your own address ({{address}}) is not in the new allowlist, so saving it would lock you out. Add it, or a block that contains it, then save.',
  problem_would_lock_out_two_factor:
    'You use neither two-factor authentication nor a passkey sign-in yourself, so requiring it would lock you out. Turn two-factor authentication on for your account, or sign in with a passkey, first.',
  problem_would_lock_out_sso:
    'You are not signed in through this organization’s identity provider, so enforcing SSO would lock you out. Sign in with SSO first (Test sign-in shows whether it works), then enforce it.',
  problem_conflict_domain:
    'The domain {{domain}} already points at another organization’s single sign-on. Remove it from the list, or ask that organization to release it.',
  problem_sso_failed_state_mismatch:
    'The answer did not match a sign-in started in this browser, or the sign-in took too long. Start again.',
  problem_sso_failed_nonce_mismatch:
    'The identity provider’s answer was not for this sign-in (its nonce did not match). Start again.',
  problem_sso_failed_issuer_mismatch:
    'The answer came from another identity provider than the one configured (issuer). Ask an Admin to check the issuer in the SSO settings.',
  problem_sso_failed_idp_error:
    'The identity provider refused the sign-in or reported an error. Check there that you may use this application, then try again.',
  problem_sso_failed_invalid_grant:
    'The identity provider refused the sign-in code (already used, or expired). Start again.',
  problem_sso_failed_invalid_client:
    'The identity provider refused Gatehouse’s client ID or client secret. An Admin needs to check them in the SSO settings.',
  problem_sso_failed_token_error:
    'The identity provider’s token endpoint refused the request. An Admin needs to check the SSO settings.',
  problem_sso_failed_id_token_invalid:
    'The identity provider’s ID token could not be verified (its signature, audience or validity). An Admin needs to check the SSO settings.',
  problem_sso_failed_userinfo_invalid:
    'The identity provider’s user information could not be read for this sign-in. Start again.',
  problem_sso_failed_response_invalid:
    'The identity provider answered with something its protocol does not allow. An Admin needs to check the identity provider.',
  problem_sso_failed_idp_unreachable:
    'The identity provider could not be reached from Gatehouse. Try again in a moment.',
  problem_sso_failed_signature:
    'The answer is not signed by a certificate configured for this identity provider. An Admin needs to check its certificates in the SSO settings.',
  problem_sso_failed_audience:
    'The answer is meant for another service provider (audience). An Admin needs to check the entity ID given to the identity provider.',
  problem_sso_failed_recipient:
    'The answer is addressed to another sign-in URL (recipient). An Admin needs to check the ACS URL given to the identity provider.',
  problem_sso_failed_expired:
    'The answer is outside its validity window: it expired, or the clocks disagree. Start again.',
  problem_sso_failed_replay: 'This answer was already used. Start the sign-in again.',
  problem_sso_failed_unknown_request:
    'The answer does not match a sign-in started in this browser, or the sign-in took too long. Start again.',
  problem_sso_failed_unsolicited:
    'The identity provider sent an answer Gatehouse did not ask for. Start signing in from Gatehouse, or ask an Admin to allow sign-ins started at the identity provider.',
  problem_sso_failed_issuer:
    'The answer comes from another identity provider than the one configured (issuer). An Admin needs to check the SSO settings.',
  problem_sso_failed_idp_refused: 'The identity provider refused the sign-in.',
  problem_sso_failed_unsupported:
    'The answer uses a form Gatehouse does not support (an encrypted assertion). An Admin needs to turn assertion encryption off at the identity provider.',
  problem_sso_failed_malformed: 'The answer could not be read as a SAML response. Start again.',
  problem_sso_failed_org_gone: 'This organization no longer exists.',
  problem_sso_failed_no_email:
    'Your identity provider sent no email address for you. Ask an Admin to have it send one.',
  problem_sso_failed_email_unverified:
    'Your identity provider does not vouch for your email address, so it cannot sign you in here. Ask an Admin to check the identity provider.',
  problem_sso_failed_account_disabled: 'This account is disabled.',
  problem_sso_failed_not_member:
    'Your identity provider vouched for you, but you are not a member of this organization and it does not add people on their first sign-in. Ask an Admin to invite you.',
  problem_sso_failed_raced: 'Another sign-in of the same person happened at the same moment. Try again.',
  problem_sso_failed_no_role:
    'The role new members get through single sign-on no longer exists. Ask an Admin to choose another in the SSO settings.',
  problem_sso_failed_owner_role:
    'Single sign-on never makes anyone an Owner. Ask an Admin to choose another role in the SSO settings.',
  problem_idp_reason_not_allowed:
    'Gatehouse does not send requests to this address (a private or local network). Use the identity provider’s public address, or ask the operator to allow it (OUTBOUND_ALLOWLIST).',
  problem_idp_reason_dns: 'Its host name does not resolve. Check the address.',
  problem_idp_reason_connect:
    'No connection could be made. Check the address, and that the identity provider is running.',
  problem_idp_reason_tls: 'The secure connection failed. Check the identity provider’s certificate.',
  problem_idp_reason_timeout: 'It did not answer in time. Try again in a moment.',
  problem_idp_reason_too_large: 'Its answer is too large: give the metadata of this one identity provider.',
  problem_idp_reason_protocol: 'Its answer is not valid HTTP. Check the address.',
  problem_idp_reason_http_status:
    'Its discovery document (/.well-known/openid-configuration) answered with an error. Check the issuer.',
  problem_idp_reason_redirect: 'The address answered with a redirect: give the address it redirects to.',
  problem_idp_reason_status: 'The metadata URL answered with an error. Check the address.',
  problem_idp_reason_issuer_invalid:
    'The issuer must be a full address with no query, fragment, user name or password.',
  problem_idp_reason_issuer_not_https: 'The issuer must be an https:// address.',
  problem_idp_reason_not_discovery_document:
    'The issuer serves no OpenID Connect discovery document. Check the issuer.',
  problem_idp_reason_issuer_mismatch:
    'The discovery document names another issuer. Enter the issuer exactly as the identity provider names it (with or without the final slash).',
  problem_idp_reason_missing_endpoint:
    'The discovery document lacks an endpoint Gatehouse needs (authorization, token or keys).',
  problem_idp_reason_endpoint_invalid: 'An endpoint in the discovery document is not a usable address.',
  problem_idp_reason_code_flow_unsupported:
    'The identity provider does not offer the authorization code flow.',
  problem_idp_reason_client_auth_unsupported:
    'The identity provider accepts neither client_secret_basic nor client_secret_post to authenticate clients.',
  problem_idp_reason_doctype: 'Metadata with a DOCTYPE is refused.',
  problem_idp_reason_not_xml: 'The metadata is empty, or not XML.',
  problem_idp_reason_no_idp: 'The metadata describes no identity provider (IDPSSODescriptor).',
  problem_idp_reason_several_idps:
    'The metadata describes several identity providers: give the metadata of one.',
  problem_idp_reason_no_entity_id: 'The metadata names no entity ID.',
  problem_idp_reason_no_sso_url:
    'The metadata names no single sign-on URL (HTTP-Redirect or HTTP-POST binding).',
  problem_idp_reason_bad_sso_url: 'The single sign-on URL is not an http(s) address.',
  problem_idp_reason_no_certificate: 'The metadata holds no signing certificate.',
  problem_idp_reason_bad_certificate: 'A certificate in the metadata is not a valid X.509 certificate.',
  problem_not_found_title: 'Not found',
  problem_not_found:
    'It may have been removed, or you may no longer have access. Reload the page to see what is there now.',
  problem_method_not_allowed_title: 'This action is not available',
  problem_method_not_allowed: 'Reload the page; the console may be out of date.',
  problem_conflict_title: 'This conflicts with what is there now',
  problem_conflict: 'Reload the page to see the current state, then try again.',
  problem_precondition_failed_title: 'This changed since you opened it',
  problem_precondition_failed:
    'Someone else saved a change meanwhile. Reload to see it, then make yours again.',
  problem_email_taken_title: 'That email address already has an account',
  problem_email_taken: 'Sign in with it instead, or use another address.',
  problem_last_owner_title: 'An organization needs an Owner',
  problem_last_owner:
    'This would leave the organization without an Owner. Make another member an Owner first, then try again.',
  problem_plan_selection_operator_title: 'Plans are set by the operators',
  problem_plan_selection_operator:
    'On this installation only its operators change an organization’s plan (gatehouse operator orgs set-plan): ask them. You can still change the billing cycle here.',
  problem_plan_limit_title: "Your organization's plan does not include this",
  problem_plan_limit:
    "The organization's current plan does not allow this. Only an Owner can change the plan: ask an Owner.",
  problem_plan_limit_feature:
    '{{feature}} needs the {{plan}} plan. Only an Owner can change the plan: ask an Owner.',
  problem_quota_exhausted_title: 'Not enough tokens left',
  problem_quota_exhausted:
    'This scan costs more tokens than remain this month for the organization, your budget or your department. Ask an Owner or Admin for a boost or a larger budget.',
  problem_invalid_sarif_title: 'The SARIF file is not valid',
  problem_invalid_sarif: 'Check that the file is a SARIF 2.1.0 log from your scanner, then upload it again.',
  problem_url_not_allowed_title: 'This address cannot be reached from Gatehouse',
  problem_url_not_allowed:
    'Use an https:// address on the public internet. Addresses on this machine or a private network are refused unless the operator allows them (OUTBOUND_ALLOWLIST).',
  problem_webhook_limit_title: 'This organization has as many webhooks as it may have',
  problem_webhook_limit: 'Delete a webhook you no longer use, or add the new events to an existing one.',
  problem_integration_limit_title: 'This organization has as many integrations as it may have',
  problem_integration_limit: 'Disconnect an integration you no longer use, then add the new one.',
  problem_reauthentication_required_title: 'Confirm it is you',
  problem_reauthentication_required:
    'Enter your password again to continue. This protects your account if someone else has your session.',
  problem_rate_limited_title: 'Too many attempts',
  problem_rate_limited: 'Wait a moment, then try again.',
  problem_rate_limited_wait_one: 'Wait {{count}} second, then try again.',
  problem_rate_limited_wait_other: 'Wait {{count}} seconds, then try again.',
  problem_invite_expired_title: 'This invitation has expired',
  problem_invite_expired: 'Ask the person who invited you to send a new one.',
  problem_token_expired_title: 'This link has expired',
  problem_token_expired: 'It was already used, a newer one was sent, or it is too old. Ask for a new link.',
  problem_invite_used_title: 'This invitation was already used',
  problem_invite_used:
    'If you accepted it, sign in with that account. Otherwise ask the organization for a new invitation.',
  problem_invite_email_mismatch_title: 'This invitation is for another email address',
  problem_invite_email_mismatch:
    'Sign out, then sign in (or create an account) with the invited address. Or ask for an invitation to the address you use.',
  problem_already_member_title: 'Already a member',
  problem_already_member: 'That person already belongs to this organization.',
  problem_role_in_use_title: 'This role is still in use',
  problem_role_in_use: 'Move its members and tokens to another role first.',
  problem_permission_denied_named:
    'It needs the permission to {{what}} ({{permission}}). Ask an Owner or Admin of this organization to do it for you, or to give you a role that allows it.',
  problem_role_in_use_counts:
    'It is still held by {{members}} member(s), {{invitations}} pending invitation(s) and {{tokens}} automation token(s). Choose a role to move them to, or move them first.',
  problem_slug_taken_title: 'That identifier is taken',
  problem_slug_taken: 'Choose another one.',
  problem_passkey_rejected_title: 'The passkey was not accepted',
  problem_passkey_rejected:
    'It could not be verified, or the request took too long. Try adding it again, and confirm with your fingerprint, face or PIN when asked.',
  problem_passkey_exists_title: 'This passkey is already registered',
  problem_passkey_exists: 'It is already in use for an account here. Use another passkey or device.',
  problem_passkey_limit_title: 'You have as many passkeys as an account may have',
  problem_passkey_limit: 'Remove one you no longer use, then add the new one.',
  problem_audit_verification_failed_title: 'The audit log failed its integrity check',
  problem_audit_verification_failed:
    'Entries may have been altered. Export the log and tell whoever is responsible for security.',
  problem_export_not_ready_title: 'The export is not ready to download',
  problem_export_not_ready:
    'It is still being built, or it failed. Wait until it says Ready, or ask for a new export.',
  problem_report_not_ready_title: 'The report is not ready to download',
  problem_report_not_ready:
    'It is still being built, or it failed. Wait until it says Ready, or generate a new report.',
  problem_internal_error_title: 'Something went wrong on the server',
  problem_internal_error: 'Try again in a moment. If it keeps happening, tell your administrator.',
  problem_service_unavailable_title: 'The service is unavailable',
  problem_service_unavailable: 'Try again in a moment.',
  problem_network_title: 'Could not reach the server',
  problem_network: 'Check your connection, then try again.',
  problem_unknown_title: 'Something went wrong',
  problem_unknown: 'Try again. If it keeps happening, reload the page.',
  problem_request_id: 'Reference: {{id}}',

  feature_customRoles: 'Custom roles',
  feature_maxMembers: 'More members',
  feature_auditExport: 'Exporting the audit log',
  feature_sso: 'Single sign-on',
  feature_scim: 'SCIM provisioning',
  feature_ipAllowlist: 'An IP allowlist',
  feature_customSessionTimeout: 'A custom session idle timeout',
  feature_fixVerification: 'Fix verification',
  feature_deepAiEnrichment: 'Deep AI enrichment',

  field_format_email: 'Enter an email address, like name@example.com.',
  field_format_email_item: '“{{value}}” is not an email address.',
  field_format_uri: 'Enter a full web address, starting with https://.',
  field_format_uuid: 'This is not a valid identifier.',
  field_format: 'This is not in the expected format.',
  field_required: 'This field is required.',
  field_minLength_one: 'Use at least {{count}} character.',
  field_minLength_other: 'Use at least {{count}} characters.',
  field_maxLength_one: 'Use at most {{count}} character.',
  field_maxLength_other: 'Use at most {{count}} characters.',
  field_pattern: 'Use only the characters allowed here, on one line, not only spaces.',
  field_enum: 'Choose one of: {{values}}.',
  field_minItems_one: 'Add at least {{count}} entry.',
  field_minItems_other: 'Add at least {{count}} entries.',
  field_maxItems_one: 'Add at most {{count}} entry.',
  field_maxItems_other: 'Add at most {{count}} entries.',
  field_minimum: 'Use a number of at least {{count}}.',
  field_maximum: 'Use a number of at most {{count}}.',
  field_uniqueItems: 'Each entry may appear only once.',
  field_type: 'This value is of the wrong kind.',
  field_additionalProperties: 'This field is not accepted.',
  field_common_password: 'This is one of the most common passwords. Choose a longer or less predictable one.',
  field_contains_personal_info: 'Do not put your email address or your name in your password.',
  field_incorrect: 'This is incorrect.',
  field_password_incorrect: 'The password is incorrect.',
  field_same_password: 'Must differ from your current password.',
  field_unknown_role: 'Choose a role of this organization.',
  field_invalid: 'This value is not accepted.',
  field_not_owner: 'An identity provider never makes anyone an Owner: choose another role.',
  field_not_certificate: 'This is not an X.509 certificate in PEM form (-----BEGIN CERTIFICATE----- …).',
  field_cidr_invalid:
    '“{{value}}” is not an IP address or a CIDR block (like 203.0.113.0/24 or 2001:db8::/32).',
  field_cidr_host_bits:
    '“{{value}}” has bits set past its prefix: write the network address (like 203.0.113.0/24).',
  field_url_not_allowed:
    'Gatehouse does not send requests to this address: use an https:// address on the public internet.',
  field_e164: 'Write the number in international form, with + and the country code (like +34600111222).',
  field_secret_in_config:
    'This looks like a secret, and settings are shown to everyone who may see integrations: put it in the secret field, which is stored encrypted and never shown.',
  field_url_query: 'Give the address without ?… or #… at the end.',
  field_card_data:
    'This looks like card data. Gatehouse never takes card numbers or security codes: give the payment provider’s reference and at most the last four digits.',
  field_named: '{{field}}: {{message}}',
};

const es: Strings<typeof en>['es'] = {
  problem_validation_failed_title: 'Algunos campos necesitan corrección',
  problem_validation_failed: 'Corrige los campos señalados abajo y vuelve a intentarlo.',
  problem_malformed_request_title: 'No se pudo leer la solicitud',
  problem_malformed_request:
    'Recarga la página y vuelve a intentarlo; la consola puede estar desactualizada.',
  problem_payload_too_large_title: 'Es demasiado grande',
  problem_payload_too_large: 'Envía un archivo más pequeño o menos elementos.',
  problem_unsupported_media_type_title: 'Ese tipo de archivo no se acepta',
  problem_unsupported_media_type: 'Usa uno de los formatos que indica esta página.',
  problem_unauthenticated_title: 'Has cerrado sesión',
  problem_unauthenticated: 'Tu sesión terminó. Inicia sesión de nuevo para continuar.',
  problem_invalid_credentials_title: 'Correo o contraseña incorrectos',
  problem_invalid_credentials: 'Revisa ambos y vuelve a intentarlo. ¿Aún no tienes cuenta? Crea una.',
  problem_second_factor_required_title: 'Introduce tu código de autenticación',
  problem_second_factor_required:
    'Tu cuenta tiene activada la autenticación en dos pasos. Introduce el código de 6 dígitos de tu aplicación de autenticación o uno de tus códigos de recuperación.',
  problem_invalid_second_factor_title: 'Ese código no es correcto',
  problem_invalid_second_factor:
    'Introduce el código actual de tu aplicación de autenticación (cada código sirve una sola vez) o un código de recuperación sin usar.',
  problem_email_unverified_title: 'Primero verifica tu correo',
  problem_email_unverified:
    'La autenticación en dos pasos y las llaves de acceso se pueden añadir cuando tu dirección esté verificada: sigue el enlace que te enviamos (la página Cuenta puede enviarte uno nuevo).',
  problem_two_factor_required_title: 'Se exige la autenticación en dos pasos o una llave de acceso',
  problem_two_factor_required:
    'Una organización a la que perteneces exige la autenticación en dos pasos o una llave de acceso: activa la autenticación en dos pasos (Seguridad de la cuenta) o inicia sesión con una llave de acceso para seguir trabajando en ella —las páginas de tu cuenta y salir de la organización siguen funcionando—. La autenticación en dos pasos no se puede desactivar mientras esa organización la exija, salvo que tengas una llave de acceso.',
  problem_permission_denied_title: 'Tu rol no permite esto',
  problem_permission_denied:
    'Pide a un Propietario o Administrador de esta organización que lo haga por ti, o que te dé un rol que lo permita.',
  problem_forbidden_origin_title: 'Rechazado: la solicitud vino de otro sitio',
  problem_forbidden_origin:
    'Por tu seguridad, solo se aceptan cambios desde la propia consola. Abre la consola en su dirección y vuelve a intentarlo.',
  problem_session_required_title: 'Esto requiere una sesión en el navegador',
  problem_session_required:
    'Los tokens de API no pueden hacer esto. Inicia sesión en la consola y hazlo allí.',
  problem_token_limit_title: 'Has alcanzado el límite de tokens',
  problem_token_limit: 'Revoca los tokens que ya no uses y después crea el nuevo.',
  problem_org_limit_title: 'Ya eres propietario de tantas organizaciones como se permite',
  problem_org_limit:
    'Elimina una organización que ya no uses o transfiere su propiedad a otra persona y después vuelve a intentarlo.',
  problem_org_limit_grantee_title: 'Ya es propietario de tantas organizaciones como se permite',
  problem_org_limit_grantee:
    'No se le puede hacer propietario aquí hasta que elimine una organización suya o transfiera su propiedad a otra persona.',
  problem_org_suspended_title: 'Esta organización está suspendida',
  problem_org_suspended:
    'Los operadores de esta instalación la suspendieron: por ahora no se puede ver ni cambiar nada en ella. Pregúntales a ellos, o a los propietarios de la organización, por qué y cuándo se levantará.',
  problem_ip_not_allowed_title: 'No desde esta dirección',
  problem_ip_not_allowed:
    'Esta organización solo acepta solicitudes desde las direcciones de su lista de permitidas, y la tuya no está en ella. Conéctate desde una red permitida (la oficina o la VPN) o pide a un Admin que añada tu dirección.',
  problem_sso_required_title: 'Inicia sesión con el inicio de sesión único',
  problem_sso_required:
    'Esta organización exige que sus miembros inicien sesión a través de su proveedor de identidad. Inicia sesión con SSO para continuar.',
  problem_sso_failed_title: 'El inicio de sesión único no se completó',
  problem_sso_failed:
    'No se pudo aceptar la respuesta del proveedor de identidad. Vuelve a iniciar sesión; si sigue fallando, pide a un Admin que revise la configuración de SSO.',
  problem_sso_link_required_title: 'Inicia sesión para vincular tu cuenta',
  problem_sso_link_required:
    'Ya existe una cuenta con este correo. Inicia sesión en ella con tu contraseña o llave de acceso y después vuelve a iniciar sesión con SSO para vincularlas.',
  problem_idp_unreachable_title: 'No se pudo contactar con el proveedor de identidad',
  problem_idp_unreachable:
    'Comprueba la dirección que indicaste y que el proveedor de identidad sea accesible desde este servidor.',
  problem_idp_invalid_title: 'La configuración del proveedor de identidad no es válida',
  problem_idp_invalid: 'Comprueba el emisor o los metadatos que indicaste; el motivo se muestra abajo.',
  problem_would_lock_out_title: 'Esto te dejaría fuera',
  problem_would_lock_out: 'El cambio rechazaría tu propio acceso. Corrígelo primero y vuelve a guardar.',
  problem_would_lock_out_ip_allowlist:
    'Tu propia dirección ({{address}}) no está en la nueva lista, así que guardarla te dejaría fuera. Añádela, o un bloque que la contenga, y guarda.',
  problem_would_lock_out_two_factor:
    'Tú no usas la verificación en dos pasos ni has iniciado sesión con una llave de acceso, así que exigirla te dejaría fuera. Activa primero la verificación en dos pasos en tu cuenta o inicia sesión con una llave de acceso.',
  problem_would_lock_out_sso:
    'No has iniciado sesión mediante el proveedor de identidad de esta organización, así que exigir el SSO te dejaría fuera. Inicia sesión con SSO primero (el inicio de sesión de prueba muestra si funciona) y después exígelo.',
  problem_conflict_domain:
    'El dominio {{domain}} ya apunta al inicio de sesión único de otra organización. Quítalo de la lista o pide a esa organización que lo libere.',
  problem_sso_failed_state_mismatch:
    'La respuesta no corresponde a un inicio de sesión empezado en este navegador, o tardó demasiado. Vuelve a empezar.',
  problem_sso_failed_nonce_mismatch:
    'La respuesta del proveedor de identidad no era para este inicio de sesión (el nonce no coincide). Vuelve a empezar.',
  problem_sso_failed_issuer_mismatch:
    'La respuesta vino de un proveedor de identidad distinto del configurado (emisor). Pide a un Administrador que revise el emisor en la configuración del SSO.',
  problem_sso_failed_idp_error:
    'El proveedor de identidad rechazó el inicio de sesión o informó de un error. Comprueba allí que puedes usar esta aplicación y vuelve a intentarlo.',
  problem_sso_failed_invalid_grant:
    'El proveedor de identidad rechazó el código de inicio de sesión (ya usado o caducado). Vuelve a empezar.',
  problem_sso_failed_invalid_client:
    'El proveedor de identidad rechazó el ID o el secreto de cliente de Gatehouse. Un Administrador debe revisarlos en la configuración del SSO.',
  problem_sso_failed_token_error:
    'El endpoint de tokens del proveedor de identidad rechazó la solicitud. Un Administrador debe revisar la configuración del SSO.',
  problem_sso_failed_id_token_invalid:
    'No se pudo verificar el token de ID del proveedor de identidad (firma, audiencia o validez). Un Administrador debe revisar la configuración del SSO.',
  problem_sso_failed_userinfo_invalid:
    'No se pudo leer la información del usuario del proveedor de identidad para este inicio de sesión. Vuelve a empezar.',
  problem_sso_failed_response_invalid:
    'El proveedor de identidad respondió con algo que su protocolo no permite. Un Administrador debe revisar el proveedor de identidad.',
  problem_sso_failed_idp_unreachable:
    'No se pudo contactar con el proveedor de identidad desde Gatehouse. Vuelve a intentarlo en un momento.',
  problem_sso_failed_signature:
    'La respuesta no está firmada por un certificado configurado para este proveedor de identidad. Un Administrador debe revisar sus certificados en la configuración del SSO.',
  problem_sso_failed_audience:
    'La respuesta es para otro proveedor de servicios (audiencia). Un Administrador debe revisar el ID de entidad dado al proveedor de identidad.',
  problem_sso_failed_recipient:
    'La respuesta va dirigida a otra URL de inicio de sesión (destinatario). Un Administrador debe revisar la URL de ACS dada al proveedor de identidad.',
  problem_sso_failed_expired:
    'La respuesta está fuera de su periodo de validez: caducó o los relojes no coinciden. Vuelve a empezar.',
  problem_sso_failed_replay: 'Esta respuesta ya se usó. Vuelve a iniciar sesión.',
  problem_sso_failed_unknown_request:
    'La respuesta no corresponde a un inicio de sesión empezado en este navegador, o tardó demasiado. Vuelve a empezar.',
  problem_sso_failed_unsolicited:
    'El proveedor de identidad envió una respuesta que Gatehouse no pidió. Inicia sesión desde Gatehouse, o pide a un Administrador que permita los inicios de sesión empezados en el proveedor de identidad.',
  problem_sso_failed_issuer:
    'La respuesta viene de un proveedor de identidad distinto del configurado (emisor). Un Administrador debe revisar la configuración del SSO.',
  problem_sso_failed_idp_refused: 'El proveedor de identidad rechazó el inicio de sesión.',
  problem_sso_failed_unsupported:
    'La respuesta usa una forma que Gatehouse no admite (una aserción cifrada). Un Administrador debe desactivar el cifrado de aserciones en el proveedor de identidad.',
  problem_sso_failed_malformed: 'La respuesta no se pudo leer como una respuesta SAML. Vuelve a empezar.',
  problem_sso_failed_org_gone: 'Esta organización ya no existe.',
  problem_sso_failed_no_email:
    'Tu proveedor de identidad no envió ninguna dirección de correo tuya. Pide a un Administrador que haga que la envíe.',
  problem_sso_failed_email_unverified:
    'Tu proveedor de identidad no garantiza tu dirección de correo, así que no puede iniciar tu sesión aquí. Pide a un Administrador que revise el proveedor de identidad.',
  problem_sso_failed_account_disabled: 'Esta cuenta está desactivada.',
  problem_sso_failed_not_member:
    'Tu proveedor de identidad respondió por ti, pero no eres miembro de esta organización y esta no añade personas en su primer inicio de sesión. Pide a un Admin que te invite.',
  problem_sso_failed_raced:
    'Otro inicio de sesión de la misma persona ocurrió en ese mismo momento. Vuelve a intentarlo.',
  problem_sso_failed_no_role:
    'El rol que reciben los miembros nuevos mediante el inicio de sesión único ya no existe. Pide a un Administrador que elija otro en la configuración del SSO.',
  problem_sso_failed_owner_role:
    'El inicio de sesión único nunca hace Propietario a nadie. Pide a un Administrador que elija otro rol en la configuración del SSO.',
  problem_idp_reason_not_allowed:
    'Gatehouse no envía solicitudes a esta dirección (una red privada o local). Usa la dirección pública del proveedor de identidad, o pide al operador que la permita (OUTBOUND_ALLOWLIST).',
  problem_idp_reason_dns: 'Su nombre de host no se resuelve. Comprueba la dirección.',
  problem_idp_reason_connect:
    'No se pudo establecer la conexión. Comprueba la dirección y que el proveedor de identidad esté en marcha.',
  problem_idp_reason_tls: 'La conexión segura falló. Revisa el certificado del proveedor de identidad.',
  problem_idp_reason_timeout: 'No respondió a tiempo. Vuelve a intentarlo en un momento.',
  problem_idp_reason_too_large:
    'Su respuesta es demasiado grande: da los metadatos de este único proveedor de identidad.',
  problem_idp_reason_protocol: 'Su respuesta no es HTTP válido. Comprueba la dirección.',
  problem_idp_reason_http_status:
    'Su documento de descubrimiento (/.well-known/openid-configuration) respondió con un error. Comprueba el emisor.',
  problem_idp_reason_redirect:
    'La dirección respondió con una redirección: da la dirección a la que redirige.',
  problem_idp_reason_status: 'La URL de metadatos respondió con un error. Comprueba la dirección.',
  problem_idp_reason_issuer_invalid:
    'El emisor debe ser una dirección completa sin consulta, fragmento, usuario ni contraseña.',
  problem_idp_reason_issuer_not_https: 'El emisor debe ser una dirección https://.',
  problem_idp_reason_not_discovery_document:
    'El emisor no sirve un documento de descubrimiento de OpenID Connect. Comprueba el emisor.',
  problem_idp_reason_issuer_mismatch:
    'El documento de descubrimiento nombra otro emisor. Escribe el emisor tal como lo nombra el proveedor de identidad (con o sin la barra final).',
  problem_idp_reason_missing_endpoint:
    'Al documento de descubrimiento le falta un endpoint que Gatehouse necesita (autorización, tokens o claves).',
  problem_idp_reason_endpoint_invalid:
    'Un endpoint del documento de descubrimiento no es una dirección utilizable.',
  problem_idp_reason_code_flow_unsupported:
    'El proveedor de identidad no ofrece el flujo de código de autorización.',
  problem_idp_reason_client_auth_unsupported:
    'El proveedor de identidad no acepta ni client_secret_basic ni client_secret_post para autenticar clientes.',
  problem_idp_reason_doctype: 'Se rechazan los metadatos con DOCTYPE.',
  problem_idp_reason_not_xml: 'Los metadatos están vacíos o no son XML.',
  problem_idp_reason_no_idp: 'Los metadatos no describen ningún proveedor de identidad (IDPSSODescriptor).',
  problem_idp_reason_several_idps:
    'Los metadatos describen varios proveedores de identidad: da los metadatos de uno solo.',
  problem_idp_reason_no_entity_id: 'Los metadatos no nombran ningún ID de entidad.',
  problem_idp_reason_no_sso_url:
    'Los metadatos no nombran ninguna URL de inicio de sesión único (enlace HTTP-Redirect o HTTP-POST).',
  problem_idp_reason_bad_sso_url: 'La URL de inicio de sesión único no es una dirección http(s).',
  problem_idp_reason_no_certificate: 'Los metadatos no contienen ningún certificado de firma.',
  problem_idp_reason_bad_certificate: 'Un certificado de los metadatos no es un certificado X.509 válido.',
  problem_not_found_title: 'No encontrado',
  problem_not_found:
    'Puede que se haya eliminado o que ya no tengas acceso. Recarga la página para ver lo que hay ahora.',
  problem_method_not_allowed_title: 'Esta acción no está disponible',
  problem_method_not_allowed: 'Recarga la página; la consola puede estar desactualizada.',
  problem_conflict_title: 'Esto choca con lo que hay ahora',
  problem_conflict: 'Recarga la página para ver el estado actual y vuelve a intentarlo.',
  problem_precondition_failed_title: 'Esto cambió desde que lo abriste',
  problem_precondition_failed:
    'Otra persona guardó un cambio mientras tanto. Recarga para verlo y vuelve a hacer el tuyo.',
  problem_email_taken_title: 'Ese correo ya tiene una cuenta',
  problem_email_taken: 'Inicia sesión con él, o usa otra dirección.',
  problem_last_owner_title: 'Una organización necesita un Propietario',
  problem_last_owner:
    'Esto dejaría la organización sin Propietario. Haz Propietario a otro miembro primero y vuelve a intentarlo.',
  problem_plan_selection_operator_title: 'Los planes los fijan los operadores',
  problem_plan_selection_operator:
    'En esta instalación solo sus operadores cambian el plan de una organización (gatehouse operator orgs set-plan): pídeselo. Aquí aún puedes cambiar el ciclo de facturación.',
  problem_plan_limit_title: 'El plan de tu organización no incluye esto',
  problem_plan_limit:
    'El plan actual de la organización no lo permite. Solo un Propietario puede cambiar el plan: pídeselo a un Propietario.',
  problem_plan_limit_feature:
    '{{feature}} requiere el plan {{plan}}. Solo un Propietario puede cambiar el plan: pídeselo a un Propietario.',
  problem_quota_exhausted_title: 'No quedan suficientes tokens',
  problem_quota_exhausted:
    'Este análisis cuesta más tokens de los que quedan este mes a la organización, a tu presupuesto o a tu departamento. Pide a un Owner o Admin un aumento o más presupuesto.',
  problem_invalid_sarif_title: 'El archivo SARIF no es válido',
  problem_invalid_sarif:
    'Comprueba que el archivo es un registro SARIF 2.1.0 de tu escáner y vuelve a subirlo.',
  problem_url_not_allowed_title: 'Gatehouse no puede conectarse a esta dirección',
  problem_url_not_allowed:
    'Use una dirección https:// de internet. Las direcciones de esta máquina o de una red privada se rechazan, salvo que el operador las permita (OUTBOUND_ALLOWLIST).',
  problem_webhook_limit_title: 'Esta organización ya tiene tantos webhooks como puede tener',
  problem_webhook_limit: 'Elimina un webhook que ya no uses o añade los nuevos eventos a uno existente.',
  problem_integration_limit_title: 'Esta organización ya tiene tantas integraciones como puede tener',
  problem_integration_limit: 'Desconecta una integración que ya no uses y añade después la nueva.',
  problem_reauthentication_required_title: 'Confirma que eres tú',
  problem_reauthentication_required:
    'Vuelve a escribir tu contraseña para continuar. Así se protege tu cuenta si otra persona tiene tu sesión.',
  problem_rate_limited_title: 'Demasiados intentos',
  problem_rate_limited: 'Espera un momento y vuelve a intentarlo.',
  problem_rate_limited_wait_one: 'Espera {{count}} segundo y vuelve a intentarlo.',
  problem_rate_limited_wait_other: 'Espera {{count}} segundos y vuelve a intentarlo.',
  problem_invite_expired_title: 'Esta invitación ha caducado',
  problem_invite_expired: 'Pide a quien te invitó que te envíe una nueva.',
  problem_token_expired_title: 'Este enlace ha caducado',
  problem_token_expired: 'Ya se usó, se envió uno más reciente o es demasiado antiguo. Pide un enlace nuevo.',
  problem_invite_used_title: 'Esta invitación ya se usó',
  problem_invite_used:
    'Si la aceptaste tú, inicia sesión con esa cuenta. Si no, pide una nueva invitación a la organización.',
  problem_invite_email_mismatch_title: 'Esta invitación es para otra dirección de correo',
  problem_invite_email_mismatch:
    'Cierra sesión e inicia sesión (o crea una cuenta) con la dirección invitada. O pide una invitación para la dirección que usas.',
  problem_already_member_title: 'Ya es miembro',
  problem_already_member: 'Esa persona ya pertenece a esta organización.',
  problem_role_in_use_title: 'Este rol todavía está en uso',
  problem_role_in_use: 'Mueve primero sus miembros y tokens a otro rol.',
  problem_permission_denied_named:
    'Hace falta el permiso para {{what}} ({{permission}}). Pide a un Propietario o Administrador de esta organización que lo haga por ti, o que te dé un rol que lo permita.',
  problem_role_in_use_counts:
    'Todavía lo tienen {{members}} miembro(s), {{invitations}} invitación(es) pendiente(s) y {{tokens}} token(s) de automatización. Elige un rol al que moverlos, o muévelos antes.',
  problem_slug_taken_title: 'Ese identificador ya está en uso',
  problem_slug_taken: 'Elige otro.',
  problem_passkey_rejected_title: 'No se aceptó la llave de acceso',
  problem_passkey_rejected:
    'No se pudo verificar, o la solicitud tardó demasiado. Vuelve a añadirla y confirma con tu huella, tu cara o tu PIN cuando se te pida.',
  problem_passkey_exists_title: 'Esta llave de acceso ya está registrada',
  problem_passkey_exists: 'Ya se usa para una cuenta aquí. Usa otra llave de acceso u otro dispositivo.',
  problem_passkey_limit_title: 'Tienes tantas llaves de acceso como permite una cuenta',
  problem_passkey_limit: 'Quita una que ya no uses y después añade la nueva.',
  problem_audit_verification_failed_title: 'El registro de auditoría no superó la verificación de integridad',
  problem_audit_verification_failed:
    'Puede que se hayan alterado entradas. Exporta el registro y avisa al responsable de seguridad.',
  problem_export_not_ready_title: 'La exportación aún no se puede descargar',
  problem_export_not_ready:
    'Todavía se está preparando, o falló. Espera a que diga Lista, o pide una exportación nueva.',
  problem_report_not_ready_title: 'El informe aún no se puede descargar',
  problem_report_not_ready:
    'Todavía se está generando, o falló. Espera a que diga Listo, o genera un informe nuevo.',
  problem_internal_error_title: 'Algo falló en el servidor',
  problem_internal_error: 'Vuelve a intentarlo en un momento. Si sigue ocurriendo, avisa a tu administrador.',
  problem_service_unavailable_title: 'El servicio no está disponible',
  problem_service_unavailable: 'Vuelve a intentarlo en un momento.',
  problem_network_title: 'No se pudo conectar con el servidor',
  problem_network: 'Revisa tu conexión y vuelve a intentarlo.',
  problem_unknown_title: 'Algo salió mal',
  problem_unknown: 'Vuelve a intentarlo. Si sigue ocurriendo, recarga la página.',
  problem_request_id: 'Referencia: {{id}}',

  feature_customRoles: 'Los roles personalizados',
  feature_maxMembers: 'Tener más miembros',
  feature_auditExport: 'Exportar el registro de auditoría',
  feature_sso: 'El inicio de sesión único',
  feature_scim: 'El aprovisionamiento SCIM',
  feature_ipAllowlist: 'Una lista de IP permitidas',
  feature_customSessionTimeout: 'Un tiempo de inactividad de sesión propio',
  feature_fixVerification: 'La verificación de correcciones',
  feature_deepAiEnrichment: 'El enriquecimiento profundo con IA',

  field_format_email: 'Escribe una dirección de correo, como nombre@ejemplo.com.',
  field_format_email_item: '«{{value}}» no es una dirección de correo.',
  field_format_uri: 'Escribe una dirección web completa, que empiece por https://.',
  field_format_uuid: 'No es un identificador válido.',
  field_format: 'No tiene el formato esperado.',
  field_required: 'Este campo es obligatorio.',
  field_minLength_one: 'Usa al menos {{count}} carácter.',
  field_minLength_other: 'Usa al menos {{count}} caracteres.',
  field_maxLength_one: 'Usa como máximo {{count}} carácter.',
  field_maxLength_other: 'Usa como máximo {{count}} caracteres.',
  field_pattern: 'Usa solo los caracteres permitidos aquí, en una línea, no solo espacios.',
  field_enum: 'Elige uno de: {{values}}.',
  field_minItems_one: 'Añade al menos {{count}} elemento.',
  field_minItems_other: 'Añade al menos {{count}} elementos.',
  field_maxItems_one: 'Añade como máximo {{count}} elemento.',
  field_maxItems_other: 'Añade como máximo {{count}} elementos.',
  field_minimum: 'Usa un número de al menos {{count}}.',
  field_maximum: 'Usa un número de como máximo {{count}}.',
  field_uniqueItems: 'Cada elemento puede aparecer una sola vez.',
  field_type: 'Este valor no es del tipo esperado.',
  field_additionalProperties: 'Este campo no se acepta.',
  field_common_password: 'Es una de las contraseñas más comunes. Elige una más larga o menos previsible.',
  field_contains_personal_info: 'No incluyas tu correo electrónico ni tu nombre en la contraseña.',
  field_incorrect: 'No es correcto.',
  field_password_incorrect: 'La contraseña no es correcta.',
  field_same_password: 'Debe ser distinta de tu contraseña actual.',
  field_unknown_role: 'Elige un rol de esta organización.',
  field_invalid: 'Este valor no se acepta.',
  field_not_owner: 'Un proveedor de identidad nunca hace Propietario a nadie: elige otro rol.',
  field_not_certificate: 'No es un certificado X.509 en formato PEM (-----BEGIN CERTIFICATE----- …).',
  field_cidr_invalid:
    '«{{value}}» no es una dirección IP ni un bloque CIDR (como 203.0.113.0/24 o 2001:db8::/32).',
  field_cidr_host_bits:
    '«{{value}}» tiene bits puestos después del prefijo: escribe la dirección de red (como 203.0.113.0/24).',
  field_url_not_allowed:
    'Gatehouse no envía solicitudes a esta dirección: usa una dirección https:// de internet pública.',
  field_e164: 'Escribe el número en formato internacional, con + y el prefijo del país (como +34600111222).',
  field_secret_in_config:
    'Parece un secreto, y la configuración la ve cualquiera que pueda ver las integraciones: ponlo en el campo del secreto, que se guarda cifrado y nunca se muestra.',
  field_url_query: 'Escribe la dirección sin ?… ni #… al final.',
  field_card_data:
    'Esto parece un dato de tarjeta. Gatehouse nunca acepta números de tarjeta ni códigos de seguridad: indica la referencia del proveedor de pago y como mucho los cuatro últimos dígitos.',
  field_named: '{{field}}: {{message}}',
};

export const problemStrings: Strings<typeof en> = { en, es };
