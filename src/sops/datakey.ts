/**
 * Recovers a file's data key from its key groups with the keyring: local keys first (age, then
 * PGP: sops' default decryption order), then key services (AWS KMS, GCP KMS, Azure Key Vault,
 * Vault transit) in the file's order, so a file that any local key opens costs no network call.
 * Several groups are recombined with Shamir's scheme; groups a local key opens are tried first,
 * and with a recorded threshold no more groups are opened than it needs. When nothing opens, the
 * error names every key tried, its service and why — never a value.
 */
import { SmcError } from '../errors.js';
import { AgeDecryptError, ageDecrypt } from './age.js';
import type { SopsKeyring } from './keyring.js';
import { KmsOpenError, SERVICE_NAMES } from './kms/types.js';
import type { KeyEntry, SopsMetadata } from './metadata.js';
import { PgpDecryptError, pgpDecrypt, pgpKeyMatches, readPgpMessage } from './pgp.js';
import { shamirCombine } from './shamir.js';

interface GroupResult {
  part: Uint8Array | null;
  /** Keys of this group that a keyring identity matched but that failed to decrypt. */
  wrong: string[];
  /** Key-service keys of this group that were tried and did not open, with why. */
  kms: { entry: KeyEntry; error: KmsOpenError }[];
}

const ORDER: Record<KeyEntry['type'], number> = {
  age: 0,
  pgp: 1,
  aws_kms: 2,
  gcp_kms: 2,
  azure_kv: 2,
  hc_vault: 2,
  hckms: 3,
};

const isLocal = (e: KeyEntry): e is Extract<KeyEntry, { type: 'age' | 'pgp' }> =>
  e.type === 'age' || e.type === 'pgp';

function describe(e: KeyEntry): string {
  if (e.type === 'age') return `age recipient ${e.recipient}`;
  if (e.type === 'pgp') return `PGP key ${e.fp}`;
  if (e.type === 'hckms') return `HuaweiCloud KMS key ${e.id}`;
  const role = e.type === 'aws_kms' && e.role ? ` (role ${e.role})` : '';
  return `${SERVICE_NAMES[e.type]} key ${e.id}${role}`;
}

/** A local identity obviously matches the entry (its recipient or fingerprint). */
function matches(e: KeyEntry, keyring: SopsKeyring): boolean {
  return e.type === 'age'
    ? keyring.age.some((a) => a.recipient === e.recipient)
    : e.type === 'pgp' && keyring.pgp.some((k) => pgpKeyMatches(k, e.fp, []));
}

async function tryGroup(group: KeyEntry[], keyring: SopsKeyring): Promise<GroupResult> {
  const wrong: string[] = [];
  const kms: GroupResult['kms'] = [];
  // Keys some identity obviously matches first, then age, PGP, key services (file order).
  const rank = (e: KeyEntry): number => (matches(e, keyring) ? 0 : 10) + ORDER[e.type];
  const sorted = group.map((e, i) => ({ e, i })).sort((a, b) => rank(a.e) - rank(b.e) || a.i - b.i);
  for (const { e: entry } of sorted) {
    if (entry.type === 'age') {
      if (keyring.age.length === 0) continue;
      const matching = keyring.age.filter((a) => a.recipient === entry.recipient);
      try {
        // Identities whose recipient matches first; otherwise let age try them all (the recorded
        // recipient may be missing or spelled differently).
        return {
          part: await ageDecrypt(entry.enc, matching.length > 0 ? matching : keyring.age),
          wrong,
          kms,
        };
      } catch (e) {
        if (!(e instanceof AgeDecryptError)) throw e;
        if (matching.length > 0 || e.message !== 'no identity matched') {
          wrong.push(
            `${describe(entry)} (${matching.length > 0 ? 'matching identity' : 'identity'} from ${(matching[0] ?? keyring.age[0])!.source})`,
          );
        }
      }
    } else if (entry.type === 'pgp') {
      if (keyring.pgp.length === 0) continue;
      let msg;
      try {
        msg = await readPgpMessage(entry.enc);
      } catch (e) {
        if (!(e instanceof PgpDecryptError)) throw e;
        continue;
      }
      for (const key of keyring.pgp.filter((k) => pgpKeyMatches(k, entry.fp, msg.keyIds))) {
        try {
          return { part: await pgpDecrypt(msg, key), wrong, kms };
        } catch (e) {
          if (!(e instanceof PgpDecryptError)) throw e;
          wrong.push(`${describe(entry)} (key ${key.fingerprints[0] ?? ''} from ${key.source})`);
        }
      }
    } else if (entry.type !== 'hckms' && keyring.kms) {
      try {
        return { part: await keyring.kms.open(entry), wrong, kms };
      } catch (e) {
        if (!(e instanceof KmsOpenError)) throw e;
        kms.push({ entry, error: e });
      }
    }
  }
  return { part: null, wrong, kms };
}

function failure(
  meta: SopsMetadata,
  keyring: SopsKeyring,
  results: (GroupResult | undefined)[],
  fileName: string,
  detail: string,
): SmcError {
  // Only the groups that could not be opened matter for the message.
  const all = meta.keyGroups.filter((_, i) => results[i]?.part == null).flat();
  const usable = all.filter(isLocal);
  const kmsTried = results.flatMap((r) => r?.kms ?? []);
  const kmsLines = kmsTried.map((k) => `${describe(k.entry)}: ${k.error.reason}: ${k.error.message}`);
  const unsupported = [
    ...new Set(
      all.filter((e) => !isLocal(e) && (e.type === 'hckms' || !keyring.kms)).map((e) => describe(e)),
    ),
  ];
  const wrong = results.flatMap((r) => r?.wrong ?? []);
  const tried = kmsLines.length > 0 ? `; key services tried: ${kmsLines.join('; ')}` : '';
  if (wrong.length > 0) {
    return new SmcError(
      'SopsWrongKey',
      `${fileName}: a configured key matches but cannot decrypt the data key: ${wrong.join('; ')}${tried}${detail}`,
    );
  }
  if (kmsTried.some((k) => k.error.reason !== 'no_credentials')) {
    const wants =
      usable.length > 0
        ? `; the file is also encrypted for ${[...new Set(usable.map(describe))].join(', ')}`
        : '';
    return new SmcError(
      'SopsKmsFailed',
      `${fileName}: no key service opened the data key: ${kmsLines.join('; ')}${wants}${detail}`,
    );
  }
  if (usable.length === 0 && kmsTried.length === 0) {
    return new SmcError(
      'SopsUnsupportedKeyType',
      `${fileName}: the file can only be decrypted with ${unsupported.join(', ')}, which ${keyring.kms ? 'is not supported' : 'needs key-service credentials; none are configured here'}${detail}`,
    );
  }
  const wants = [...new Set(usable.map((e) => describe(e)))];
  const extra = unsupported.length > 0 ? ` (also ${unsupported.join(', ')}, not supported)` : '';
  const forWhat = wants.length > 0 ? `; it is encrypted for ${wants.join(', ')}${extra}` : extra;
  const none =
    usable.length > 0 && keyring.age.length === 0 && keyring.pgp.length === 0
      ? ' (no decryption key is configured: no age or PGP key)'
      : '';
  return new SmcError(
    'SopsNoMatchingKey',
    `${fileName}: no configured key can decrypt this file${none}${forWhat}${tried}${detail}`,
  );
}

/** Returns the 32-byte data key. The caller zeroes it after use. */
export async function recoverDataKey(
  meta: SopsMetadata,
  keyring: SopsKeyring,
  fileName: string,
): Promise<Buffer> {
  const results: (GroupResult | undefined)[] = meta.keyGroups.map(() => undefined);
  const shamir = meta.keyGroups.length > 1;
  // Groups a local identity opens first; with a recorded threshold, stop once it is met.
  const order = meta.keyGroups
    .map((g, i) => ({ i, local: g.some((e) => matches(e, keyring)) }))
    .sort((a, b) => Number(b.local) - Number(a.local) || a.i - b.i)
    .map((x) => x.i);
  let opened = 0;
  for (const i of order) {
    if (shamir && meta.shamirThreshold >= 2 && opened >= meta.shamirThreshold) break;
    const r = await tryGroup(meta.keyGroups[i]!, keyring);
    results[i] = r;
    if (r.part) opened++;
  }
  const parts = results.map((r) => r?.part ?? null).filter((p): p is Uint8Array => p !== null);
  try {
    let key: Uint8Array;
    if (shamir) {
      const need = Math.max(meta.shamirThreshold, 2);
      if (parts.length < need) {
        throw failure(
          meta,
          keyring,
          results,
          fileName,
          ` (Shamir key groups: ${parts.length} opened, ${need} of ${meta.keyGroups.length} needed)`,
        );
      }
      try {
        key = shamirCombine(parts);
      } catch {
        throw new SmcError(
          'SopsWrongKey',
          `${fileName}: the key group shares do not combine into a data key`,
        );
      }
    } else {
      if (parts.length !== 1) throw failure(meta, keyring, results, fileName, '');
      key = parts[0] as Uint8Array;
    }
    if (key.length !== 32) {
      key.fill(0);
      throw new SmcError('SopsWrongKey', `${fileName}: the recovered data key has the wrong length`);
    }
    const out = Buffer.from(key);
    key.fill(0);
    return out;
  } finally {
    for (const p of parts) p.fill(0);
  }
}
