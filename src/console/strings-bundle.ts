/**
 * One page's words, in both languages (Spanish has every English key). A leaf module: the bundles
 * and i18n.ts, which merges them, both depend on it and on nothing of each other's.
 */
export interface Strings<T extends Record<string, string> = Record<string, string>> {
  en: T;
  es: { [K in keyof T]: string };
}
