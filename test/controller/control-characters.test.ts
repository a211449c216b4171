/**
 * The controller's human-facing strings — condition messages, the status description and entry
 * messages, all printed by `kubectl describe` — quote keys and names from Git. Control characters in
 * them are escaped where the status is built, so a hostile key cannot drive an operator's terminal.
 */
import { describe, expect, it } from 'vitest';
import type { SecretManagerConfigStatus } from '../../src/api/index.js';
import { setConditions } from '../../src/controller/runtime/conditions.js';
import { computeStatus, progressStatus } from '../../src/controller/status.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const T1 = new Date('2026-01-01T00:05:00Z');
const HOSTILE = 'a\x1b]0;PWNED\x07 x\nFAKE-ROW y\u202ez \u009b31m';
const ESCAPED = 'a\\x1b]0;PWNED\\x07 x\\nFAKE-ROW y\\u202Ez \\x9b31m';
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const RAW = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function humanStrings(s: SecretManagerConfigStatus): string[] {
  return [
    s.description ?? '',
    ...(s.conditions ?? []).map((c) => c.message),
    ...(s.entries ?? []).map((e) => e.message ?? ''),
  ];
}

describe('control characters in controller messages', () => {
  it('a failure quoting a hostile key: description and every condition message escaped', () => {
    const s = computeStatus({
      previous: undefined,
      generation: 1,
      verdict: {
        kind: 'failed',
        reason: 'NameCollision',
        message: `1 name collision(s) in store gcp: "${HOSTILE}" and "a__0_PWNED_" both map to "svc-a"`,
        stalled: true,
        sourceProblem: false,
      },
      now: T0,
      nextReconcileAt: T1,
    });
    for (const text of humanStrings(s)) expect(RAW.exec(text), JSON.stringify(text)).toBeNull();
    expect(s.description).toContain(ESCAPED);
    expect(s.conditions?.find((c) => c.type === 'Ready')?.message).toContain(ESCAPED);
  });

  it('an entry failure message quoting a hostile key is escaped; the key itself stays exact', () => {
    const s = computeStatus({
      previous: undefined,
      generation: 1,
      verdict: {
        kind: 'partial',
        revision: 'main@sha1:1',
        failed: 1,
        outcomes: [
          {
            key: HOSTILE,
            storeName: 'svc-a',
            kind: 'secret',
            store: 'kubernetes',
            action: 'create',
            result: 'failed',
            message: `"${HOSTILE}" is not a valid Secret key`,
          },
        ],
      },
      now: T0,
      nextReconcileAt: T1,
    });
    for (const text of humanStrings(s)) expect(RAW.exec(text), JSON.stringify(text)).toBeNull();
    expect(s.entries?.[0]?.message).toBe(`"${ESCAPED}" is not a valid Secret key`);
    expect(s.entries?.[0]?.key).toBe(HOSTILE);
  });

  it('progress messages and conditions set directly are escaped', () => {
    const s = progressStatus({
      previous: undefined,
      generation: 1,
      progress: { kind: 'syncing', revision: `main@${HOSTILE}`, cause: 'revision' },
      now: T1,
    });
    for (const text of humanStrings(s)) expect(RAW.exec(text), JSON.stringify(text)).toBeNull();
    const [c] = setConditions(
      undefined,
      [{ type: 'Ready', status: 'False', reason: 'Failed', message: HOSTILE }],
      '2026-01-01T00:00:00Z',
      1,
    );
    expect(c?.message).toBe(ESCAPED);
  });
});
