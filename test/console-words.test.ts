import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, auditWordStrings } from '../src/console/audit-words.strings.ts';
import { catalogStrings } from '../src/console/catalog-words.strings.ts';
import { pageStrings } from '../src/console/strings.ts';
import { PERMISSIONS } from '../src/contracts/permissions.ts';
import { PRUNED_ACTION } from '../src/server/platform/audit/log.ts';

/** Every `action: '…'` the server's code records (commands, refusals, notes in other logs). */
function serverActions(): Set<string> {
  const found = new Set<string>([PRUNED_ACTION]);
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        for (const m of fs.readFileSync(file, 'utf8').matchAll(/\baction: '([a-z_]+\.[a-z_]+)'/g)) {
          found.add(m[1]!);
        }
      }
    }
  };
  walk(path.resolve('src/server'));
  return found;
}

describe('the console’s words for the audit log and the catalogs', () => {
  it('never defines one key in two pages’ bundles (the console refuses to start if it does)', () => {
    const owner = new Map<string, number>();
    const twice: string[] = [];
    pageStrings.forEach((bundle, i) => {
      for (const key of Object.keys(bundle.en)) {
        if (owner.has(key)) twice.push(key);
        owner.set(key, i);
      }
    });
    expect(twice).toEqual([]);
  });

  it('has a label, in English and Spanish, for every action the server records', () => {
    const actions = serverActions();
    // The scan finds what the server writes (a sanity floor, so an empty scan cannot pass).
    expect(actions.size).toBeGreaterThan(30);
    expect(actions).toContain('member.role_changed');
    expect(actions).toContain('access.denied');
    expect([...actions].filter((a) => !AUDIT_ACTIONS.includes(a))).toEqual([]);
    for (const action of AUDIT_ACTIONS) {
      const key = `auditAction_${action.replace(/[^A-Za-z0-9_]/g, '_')}`;
      expect(auditWordStrings.en[key], action).toBeTruthy();
      expect(auditWordStrings.es[key], action).toBeTruthy();
      expect(auditWordStrings.es[key], action).not.toBe(auditWordStrings.en[key]);
    }
  });

  it('translates every permission’s description and every built-in role', () => {
    for (const permission of PERMISSIONS) {
      const key = `permission_${permission.replace(/[^a-z0-9_]/g, '_')}`;
      expect(catalogStrings.es[key], permission).toBeTruthy();
      expect(catalogStrings.es[key], permission).not.toBe(catalogStrings.en[key]);
    }
    expect(catalogStrings.es.builtinRole_developer_name).toBe('Desarrollador');
    expect(catalogStrings.es.builtinRole_admin_name).toBe('Administrador');
  });
});
