import type { TFunction } from 'i18next';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { BUILTIN_ROLE_SLUGS } from '../contracts/roles.ts';
import { permissionKey, roleKey } from './catalog-words.strings.ts';

/** Whether a slug is a built-in role's (their names and descriptions are translated). */
export const isBuiltinRole = (slug: string) => BUILTIN_ROLE_SLUGS.has(slug);

/**
 * The built-in roles' names and descriptions and the permission catalog's descriptions, in the
 * reader's language (words in catalog-words.strings.ts). The server stores and sends them in
 * English; built-in roles cannot be renamed, so their slug names them in any language. A custom
 * role is shown as its org named it.
 */
export interface CatalogWords {
  /** A role's name: a built-in's in the reader's language, else `name` (or the slug). */
  roleName(slug: string, name?: string | null): string;
  /** A role's description: a built-in's translated, else `description`. */
  roleDescription(slug: string, description?: string | null): string;
  /** A permission's description from the catalog, translated; `fallback` for unknown keys. */
  permission(key: string, fallback?: string): string;
}

/** The catalog's words through one translation function (the hook's, or a test's instance). */
export function catalogWordsOf(t: TFunction): CatalogWords {
  return {
    roleName: (slug, name) => (isBuiltinRole(slug) ? t(roleKey(slug, 'name')) : name || slug),
    roleDescription: (slug, description) =>
      isBuiltinRole(slug) ? t(roleKey(slug, 'description')) : (description ?? ''),
    permission: (key, fallback) => t(permissionKey(key), { defaultValue: fallback ?? key }),
  };
}

export function useCatalogWords(): CatalogWords {
  const { t, i18n } = useTranslation();
  // biome-ignore lint/correctness/useExhaustiveDependencies: the words change with the language
  return useMemo(() => catalogWordsOf(t), [t, i18n.language]);
}
