/**
 * Provider calls per changed value and per verified unchanged entry (docs/performance.md, "Store
 * calls"), measured on one store the way `src/sync.ts` drives it: read → plan → apply per pass.
 * The store contract asserts the budgets on every store; `bench/store-calls.ts` prints the figures.
 *
 * The figures are slopes, so a pass's fixed cost (listing what an owner holds: one page per 100 to
 * 1000 entries) is not charged to any entry:
 * - verify: (calls of an unchanged pass over `large` entries − over `small` entries) / (large − small);
 * - create: (calls of the pass that adds large − small entries − calls of an unchanged small pass) / added;
 * - change: (calls of a pass with `changed` new values − calls of an unchanged large pass) / changed.
 */
import type { Entry } from '../../../src/entry.js';
import { nameEntries } from '../../../src/naming/name.js';
import { planActions } from '../../../src/plan/plan.js';
import type { Owner, ProviderCall, SecretStore } from '../../../src/stores/store.js';

/** The budgets every store keeps (issue 11). */
export const CALL_BUDGET = { perChangedValue: 3, perVerifiedEntry: 1, perCreatedValue: 3 } as const;

export interface CallFigures {
  /** Provider calls per entry added on a first sync. */
  create: number;
  /** Provider calls per changed value. */
  change: number;
  /** Provider calls per unchanged entry re-verified. */
  verify: number;
  /** Calls of the unchanged pass over `small` entries: the pass's fixed cost plus `small` verifications. */
  unchangedSmall: number;
  /** Calls of the unchanged pass over `large` entries. */
  unchangedLarge: number;
  /** Operation → count over the changed pass (for the report). */
  changedPass: Record<string, number>;
  /** Operation → count over the unchanged large pass. */
  verifyPass: Record<string, number>;
  /** Writes seen in the unchanged passes (must be 0). */
  unchangedWrites: number;
}

export interface BudgetRun {
  store: SecretStore;
  owner: Owner;
  prefix: string;
  /** Every observed provider call of `store`, in order (the test's counter). */
  seen: ProviderCall[];
  /** Checks the observer against an independent count (wire or SDK); throws when they disagree. */
  agree?(): void;
  /** Makes a value; every value must be distinct per tag. */
  value(tag: string): string;
}

function entries(values: Record<string, string>): Entry[] {
  return Object.entries(values).map(([key, value]) => ({
    key,
    value,
    kind: 'secret',
    enabled: true,
    origin: 'svc/application.secrets.env',
  }));
}

/** One pass: read, plan, apply; returns the calls it made by operation and the failed results. */
async function pass(run: BudgetRun, values: Record<string, string>) {
  const start = run.seen.length;
  const named = nameEntries(entries(values), { rule: run.store.naming, prefix: run.prefix });
  const actual = await run.store.read(
    run.owner,
    named.map((e) => e.storeName),
  );
  const actions = planActions({
    desired: named,
    actual,
    owner: run.owner,
    deletionPolicy: 'Delete',
    triggerUpdate: true,
    adopt: false,
  });
  const results = await run.store.apply(run.owner, actions);
  const failed = results.filter((r) => !r.ok).map((r) => `${r.action.storeName}: ${r.message}`);
  if (failed.length) throw new Error(`pass failed: ${failed.join('; ')}`);
  run.agree?.();
  const calls = run.seen.slice(start);
  const byOp: Record<string, number> = {};
  for (const c of calls) byOp[c.operation] = (byOp[c.operation] ?? 0) + 1;
  return {
    total: calls.length,
    writes: calls.filter((c) => c.write).length,
    byOp,
    types: actions.map((a) => a.type),
  };
}

function valuesOf(run: BudgetRun, n: number, changed: ReadonlySet<number> = new Set()) {
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) out[`KEY_${i}`] = run.value(changed.has(i) ? `v2-${i}` : `v1-${i}`);
  return out;
}

/** The scenario: `small` entries, grown to `large`, verified at both sizes, then `changed` values changed. */
export async function measureCalls(
  run: BudgetRun,
  sizes: { small: number; large: number; changed: number } = { small: 3, large: 10, changed: 2 },
): Promise<CallFigures> {
  const { small, large, changed } = sizes;
  await pass(run, valuesOf(run, small));
  const unchangedSmall = await pass(run, valuesOf(run, small));
  const created = await pass(run, valuesOf(run, large));
  const unchangedLarge = await pass(run, valuesOf(run, large));
  const which = new Set(Array.from({ length: changed }, (_, i) => i));
  const change = await pass(run, valuesOf(run, large, which));
  const expectNoop = (p: { types: string[] }, what: string) => {
    if (p.types.some((t) => t !== 'noop'))
      throw new Error(`${what}: expected only noops, got ${p.types.join()}`);
  };
  expectNoop(unchangedSmall, 'unchanged small pass');
  expectNoop(unchangedLarge, 'unchanged large pass');
  if (change.types.filter((t) => t === 'update').length !== changed) {
    throw new Error(`changed pass: expected ${changed} updates, got ${change.types.join()}`);
  }
  return {
    create: (created.total - unchangedSmall.total) / (large - small),
    change: (change.total - unchangedLarge.total) / changed,
    verify: (unchangedLarge.total - unchangedSmall.total) / (large - small),
    unchangedSmall: unchangedSmall.total,
    unchangedLarge: unchangedLarge.total,
    changedPass: change.byOp,
    verifyPass: unchangedLarge.byOp,
    unchangedWrites: unchangedSmall.writes + unchangedLarge.writes,
  };
}
