import type { Strings } from '../strings-bundle.ts';

const en = {
  memberBack: 'Team',
  memberNeedsRead: 'Seeing members needs the members:read permission, which your role does not have.',
  memberTokensNeed:
    'Their personal tokens are shown to those who manage tokens (api_keys:manage); your role does not.',
  memberNoTokens: 'No personal tokens for this organization.',
  memberTokenHint: 'Token',
  memberActivity: 'Activity',
  memberActivityNeed: 'Their activity comes from the audit log, which needs the audit:read permission.',
  memberAllByThem: 'All entries by them',
  memberAllAboutThem: 'All entries about them',
};

const es: typeof en = {
  memberBack: 'Equipo',
  memberNeedsRead: 'Ver a los miembros requiere el permiso members:read, que tu rol no tiene.',
  memberTokensNeed:
    'Sus tokens personales se muestran a quien gestiona tokens (api_keys:manage); tu rol no lo hace.',
  memberNoTokens: 'No tiene tokens personales para esta organización.',
  memberTokenHint: 'Token',
  memberActivity: 'Actividad',
  memberActivityNeed: 'Su actividad viene del registro de auditoría, que requiere el permiso audit:read.',
  memberAllByThem: 'Todas sus entradas',
  memberAllAboutThem: 'Todas las entradas sobre esta persona',
};

export const memberDetailStrings: Strings = { en, es };
