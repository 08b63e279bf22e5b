/**
 * The default plan catalog. Entitlements are what the server enforces; an operator
 * may replace the catalog later, so code asks `entitlements(plan)` rather than comparing names.
 */
export const PLANS = ['free', 'pro', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

export interface Entitlements {
  /** Display name ("Scale" is the pro plan's name in the console). */
  name: string;
  tokensPerMonth: number;
  /** Members, pending invitations included; null = unlimited. */
  maxMembers: number | null;
  customRoles: boolean;
  scim: boolean;
  auditExport: boolean;
  complianceReports: boolean;
  fixVerification: boolean;
  sso: boolean;
  auditRetentionDays: number;
  ipAllowlist: boolean;
  budgets: boolean;
  quotaBoosts: boolean;
  customSessionTimeout: boolean;
  deepAiEnrichment: boolean;
  sms: boolean;
}

const PAID = {
  customRoles: true,
  scim: true,
  auditExport: true,
  complianceReports: true,
  fixVerification: true,
  sso: true,
};

const NO_ENTERPRISE = {
  ipAllowlist: false,
  budgets: false,
  quotaBoosts: false,
  customSessionTimeout: false,
  deepAiEnrichment: false,
  sms: false,
};

export const PLAN_CATALOG: Record<Plan, Entitlements> = {
  free: {
    name: 'Free',
    tokensPerMonth: 48,
    maxMembers: 5,
    customRoles: false,
    scim: false,
    auditExport: false,
    complianceReports: false,
    fixVerification: false,
    sso: true,
    auditRetentionDays: 30,
    ...NO_ENTERPRISE,
  },
  pro: {
    name: 'Scale',
    tokensPerMonth: 1000,
    maxMembers: null,
    ...PAID,
    auditRetentionDays: 90,
    ...NO_ENTERPRISE,
  },
  enterprise: {
    name: 'Enterprise',
    tokensPerMonth: 10_000,
    maxMembers: null,
    ...PAID,
    auditRetentionDays: 730,
    ipAllowlist: true,
    budgets: true,
    quotaBoosts: true,
    customSessionTimeout: true,
    deepAiEnrichment: true,
    sms: true,
  },
};

export function isPlan(value: unknown): value is Plan {
  return typeof value === 'string' && (PLANS as readonly string[]).includes(value);
}

export function entitlements(plan: string): Entitlements {
  // An unknown plan (a catalog entry an operator removed) gets the most restrictive terms.
  return isPlan(plan) ? PLAN_CATALOG[plan] : PLAN_CATALOG.free;
}
