/**
 * docs/troubleshooting.md stays true to the code: every condition reason the controller can write
 * (each ErrorCode of src/errors.ts, which becomes the `Ready` reason of a failed reconcile, and each
 * literal reason of src/controller/status.ts and reconcile.ts) has a "### `Reason`" section with a
 * symptom, a cause and a fix; and no section documents a reason that no longer exists in src/.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../peers.js';

const read = (p: string) => readFile(join(repoRoot, p), 'utf8');

async function errorCodes(): Promise<string[]> {
  const text = await read('src/errors.ts');
  const union = /export type ErrorCode\s*=([^;]*);/.exec(text)?.[1];
  if (!union) throw new Error('no ErrorCode union in src/errors.ts');
  return [...union.matchAll(/'([A-Za-z]+)'/g)].map((m) => m[1]!);
}

/** `reason: 'X'` literals (conditions) in the modules that build an SMC's status. */
async function conditionLiterals(): Promise<string[]> {
  const out: string[] = [];
  for (const f of ['src/controller/status.ts', 'src/controller/reconcile.ts']) {
    for (const m of (await read(f)).matchAll(/\breason:\s*'([A-Z][A-Za-z]+)'/g)) out.push(m[1]!);
  }
  return out;
}

/** Every CamelCase string literal in src/ (what "exists in the code" means for the reverse check). */
async function literalsInSrc(dir = 'src'): Promise<Set<string>> {
  const found = new Set<string>();
  for (const e of await readdir(join(repoRoot, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) for (const x of await literalsInSrc(p)) found.add(x);
    else if (e.name.endsWith('.ts'))
      for (const m of (await read(p)).matchAll(/'([A-Z][A-Za-z]+)'/g)) found.add(m[1]!);
  }
  return found;
}

/** `### \`Reason\`` sections of docs/troubleshooting.md → their body. */
async function sections(): Promise<Map<string, string>> {
  const md = await read('docs/troubleshooting.md');
  const part = md.split(/^## /m).find((s) => s.startsWith('Condition reasons'));
  if (!part) throw new Error('no "## Condition reasons" section');
  const out = new Map<string, string>();
  for (const s of part.split(/^### /m).slice(1)) {
    const m = /^`([A-Za-z]+)`\n([\s\S]*)$/.exec(s);
    if (!m) throw new Error(`malformed section: ${s.slice(0, 60)}`);
    out.set(m[1]!, m[2]!);
  }
  return out;
}

describe('docs/troubleshooting.md', () => {
  it('has a symptom, a cause and a fix for every condition reason the controller emits', async () => {
    const docs = await sections();
    const reasons = new Set([...(await errorCodes()), ...(await conditionLiterals())]);
    expect(reasons.size).toBeGreaterThan(30);
    expect([...reasons].filter((r) => !docs.has(r)).sort(), 'undocumented reasons').toEqual([]);
    for (const [reason, body] of docs) {
      for (const part of ['**Symptom**', '**Cause**', '**Fix**'])
        expect(body, `${reason} ${part}`).toContain(part);
    }
  });

  it('documents no reason that is gone from the code', async () => {
    const inSrc = await literalsInSrc();
    expect([...(await sections()).keys()].filter((r) => !inSrc.has(r))).toEqual([]);
  });
});
