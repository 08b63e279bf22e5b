/**
 * The one normalisation of email addresses. Every email is stored in this form and every lookup,
 * uniqueness check and throttle key uses it, so the database compares plain stored values and
 * never folds case itself: SQL `lower()` (whose result depends on the database's locale) and
 * JavaScript's case mapping disagree beyond ASCII (`İ` is `i` to one, `i̇` to the other), and two
 * foldings would let a spelling reach an account through one path and not through another.
 *
 * Compatibility forms are folded first (full-width letters, ligatures), then case, then the result
 * is recomposed; surrounding whitespace is dropped. The function is idempotent.
 */
export function normalizeEmail(email: string): string {
  let current = email.trim();
  // One pass is not always a fixed point (a compatibility form can decompose into characters
  // whose lower case recomposes differently, e.g. U+1FDD): repeat until nothing changes.
  for (let pass = 0; pass < 8; pass++) {
    const next = current.normalize('NFKC').toLowerCase().normalize('NFKC').trim();
    if (next === current) break;
    current = next;
  }
  return current;
}
