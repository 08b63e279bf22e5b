import type { Strings } from '../i18n.ts';

const en = {
  auditFilters: 'Filter the audit log',
  auditAnyActor: 'Anyone (search by name or email)',
  auditAnyTarget: 'Any target (id)',
  auditFrom: 'From',
  auditTo: 'Until',
  auditClear: 'Clear filters',
  auditActionHelp: 'An action such as member.invited, or member.* for all of a kind',
  auditIdHelp: 'Letters, digits and . _ : @ - only',
  auditRangeHelp: 'Must be after "From"',
  auditExportRange: 'Exports cover the chosen time range.',
  auditShow: 'Show entry {{seq}}',
  auditByActor: 'Show only this actor’s entries',
  auditByTarget: 'Show only entries about this target',
};

const es: typeof en = {
  auditFilters: 'Filtrar el registro de auditoría',
  auditAnyActor: 'Cualquiera (busca por nombre o correo)',
  auditAnyTarget: 'Cualquier objeto (id)',
  auditFrom: 'Desde',
  auditTo: 'Hasta',
  auditClear: 'Quitar filtros',
  auditActionHelp: 'Una acción como member.invited, o member.* para todas las de un tipo',
  auditIdHelp: 'Solo letras, dígitos y . _ : @ -',
  auditRangeHelp: 'Debe ser posterior a «Desde»',
  auditExportRange: 'Las exportaciones cubren el intervalo elegido.',
  auditShow: 'Ver la entrada {{seq}}',
  auditByActor: 'Ver solo las entradas de este actor',
  auditByTarget: 'Ver solo las entradas sobre este objeto',
};

export const auditLogStrings: Strings = { en, es };
