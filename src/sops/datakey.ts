/**
 * Recovers a file's data key from its key groups with the keyring: age first, then PGP (sops'
 * default decryption order); several groups are recombined with Shamir's scheme.
 */
import { SmcError } from '../errors.js';
import { AgeDecryptError, ageDecrypt } from './age.js';
import type { SopsKeyring } from './keyring.js';
import type { KeyEntry, SopsMetadata } from './metadata.js';
import { PgpDecryptError, pgpDecrypt, pgpKeyMatches, readPgpMessage } from './pgp.js';
import { shamirCombine } from './shamir.js';

interface GroupResult {
  part: Uint8Array | null;
  /** Keys of this group that a keyring identity matched but that failed to decrypt. */
  wrong: string[];
}

const ORDER: Record<KeyEntry['type'], number> = {
  age: 0,
  pgp: 1,
  aws_kms: 2,
  gcp_kms: 2,
  azure_kv: 2,
  hc_vault: 2,
  hckms: 2,
};

function describe(e: KeyEntry): string {
  if (e.type === 'age') return `age recipient ${e.recipient}`;
  if (e.type === 'pgp') return `PGP key ${e.fp}`;
  const names = {
    aws_kms: 'AWS KMS',
    gcp_kms: 'GCP KMS',
    azure_kv: 'Azure Key Vault',
    hc_vault: 'HashiCorp Vault',
    hckms: 'HuaweiCloud KMS',
  };
  return `${names[e.type]} key ${e.id}`;
}

async function tryGroup(group: KeyEntry[], keyring: SopsKeyring): Promise<GroupResult> {
  const wrong: string[] = [];
  // Keys some identity obviously matches first, then sops' order (age, PGP, others).
  const matches = (e: KeyEntry): boolean =>
    e.type === 'age'
      ? keyring.age.some((a) => a.recipient === e.recipient)
      : e.type === 'pgp' && keyring.pgp.some((k) => pgpKeyMatches(k, e.fp, []));
  const rank = (e: KeyEntry): number => (matches(e) ? 0 : 10) + ORDER[e.type];
  const sorted = [...group].sort((a, b) => rank(a) - rank(b));
  for (const entry of sorted) {
    if (entry.type === 'age') {
      if (keyring.age.length === 0) continue;
      const matching = keyring.age.filter((a) => a.recipient === entry.recipient);
      try {
        // Identities whose recipient matches first; otherwise let age try them all (the recorded
        // recipient may be missing or spelled differently).
        return { part: await ageDecrypt(entry.enc, matching.length > 0 ? matching : keyring.age), wrong };
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
          return { part: await pgpDecrypt(msg, key), wrong };
        } catch (e) {
          if (!(e instanceof PgpDecryptError)) throw e;
          wrong.push(`${describe(entry)} (key ${key.fingerprints[0] ?? ''} from ${key.source})`);
        }
      }
    }
  }
  return { part: null, wrong };
}

function failure(meta: SopsMetadata, results: GroupResult[], fileName: string, detail: string): SmcError {
  // Only the groups that could not be opened matter for the message.
  const all = meta.keyGroups.filter((_, i) => results[i]?.part == null).flat();
  const usable = all.filter((e) => e.type === 'age' || e.type === 'pgp');
  const unsupported = [
    ...new Set(all.filter((e) => e.type !== 'age' && e.type !== 'pgp').map((e) => describe(e))),
  ];
  const wrong = results.flatMap((r) => r.wrong);
  if (wrong.length > 0) {
    return new SmcError(
      'SopsWrongKey',
      `${fileName}: a configured key matches but cannot decrypt the data key: ${wrong.join('; ')}${detail}`,
    );
  }
  if (usable.length === 0) {
    return new SmcError(
      'SopsUnsupportedKeyType',
      `${fileName}: the file can only be decrypted with ${unsupported.join(', ')}; cloud KMS and Vault keys are not supported yet (age and PGP are)${detail}`,
    );
  }
  const wants = [...new Set(usable.map((e) => describe(e)))];
  const extra = unsupported.length > 0 ? ` (also ${unsupported.join(', ')}, not supported)` : '';
  return new SmcError(
    'SopsNoMatchingKey',
    `${fileName}: no configured key can decrypt this file; it is encrypted for ${wants.join(', ')}${extra}${detail}`,
  );
}

/** Returns the 32-byte data key. The caller zeroes it after use. */
export async function recoverDataKey(
  meta: SopsMetadata,
  keyring: SopsKeyring,
  fileName: string,
): Promise<Buffer> {
  const results: GroupResult[] = [];
  for (const g of meta.keyGroups) results.push(await tryGroup(g, keyring));
  const parts = results.map((r) => r.part).filter((p): p is Uint8Array => p !== null);
  try {
    let key: Uint8Array;
    if (meta.keyGroups.length > 1) {
      const need = Math.max(meta.shamirThreshold, 2);
      if (parts.length < need) {
        throw failure(
          meta,
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
      if (parts.length !== 1) throw failure(meta, results, fileName, '');
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
