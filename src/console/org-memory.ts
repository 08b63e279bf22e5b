import type { Me } from '../contracts/wire.ts';

/**
 * What this browser remembers of a user's organizations, so that one that disappears from /me can
 * be explained (the server tells a former member nothing about the org). Names only, per user, in
 * this browser's storage; leaving or deleting an org here forgets it first, so only a removal (or a
 * deletion by someone else) shows as lost.
 */
interface Remembered {
  orgs: Array<{ id: string; name: string }>;
  /** Organizations this user asked to join through a share link, not yet a member of. */
  asked: Array<{ name: string; at: string }>;
}

const memoryKey = (userId: string) => `gatehouse.seen.${userId}`;

function readMemory(userId: string): Remembered {
  try {
    const parsed = JSON.parse(localStorage.getItem(memoryKey(userId)) ?? '{}') as Partial<Remembered>;
    return { orgs: parsed.orgs ?? [], asked: parsed.asked ?? [] };
  } catch {
    return { orgs: [], asked: [] };
  }
}

function writeMemory(userId: string, memory: Remembered): void {
  localStorage.setItem(memoryKey(userId), JSON.stringify(memory));
}

/**
 * Compares /me with what this browser saw before: the organizations lost since (returned once,
 * then forgotten when the user has seen them), and the join requests still waiting. Joining an org
 * asked for clears that request.
 */
export function recallOrgs(me: Me): { lost: Array<{ id: string; name: string }>; asked: string[] } {
  const memory = readMemory(me.user.id);
  const current = new Set(me.memberships.map((m) => m.org.id));
  const lost = memory.orgs.filter((o) => !current.has(o.id));
  const names = new Set(me.memberships.map((m) => m.org.name));
  const asked = memory.asked.filter((a) => !names.has(a.name));
  return { lost, asked: asked.map((a) => a.name) };
}

/** Records the user's organizations as seen now; `keepLost`: still explain the ones gone. */
export function rememberOrgs(me: Me, keepLost = false): void {
  const memory = readMemory(me.user.id);
  const now = me.memberships.map((m) => ({ id: m.org.id, name: m.org.name }));
  const lost = keepLost ? memory.orgs.filter((o) => !now.some((n) => n.id === o.id)) : [];
  const names = new Set(now.map((o) => o.name));
  writeMemory(me.user.id, { orgs: [...now, ...lost], asked: memory.asked.filter((a) => !names.has(a.name)) });
}

/** The user left or deleted this org themselves: nothing to explain later. */
export function forgetRememberedOrg(userId: string, orgId: string): void {
  const memory = readMemory(userId);
  writeMemory(userId, { ...memory, orgs: memory.orgs.filter((o) => o.id !== orgId) });
}

/** The user asked to join `name` through a share link. */
export function rememberJoinRequest(userId: string, name: string): void {
  const memory = readMemory(userId);
  writeMemory(userId, {
    ...memory,
    asked: [...memory.asked.filter((a) => a.name !== name), { name, at: new Date().toISOString() }],
  });
}
