/**
 * The `sops` metadata section: extraction from the loaded tree (nested for YAML/JSON/binary,
 * flattened with `__map_`/`__list_` for INI and dotenv), weakly typed decoding like sops'
 * mapstructure use, and validation.
 */
import { SmcError } from '../errors.js';
import { formatFloatF } from './gonum.js';
import { formatRFC3339, parseRFC3339 } from './gotime.js';
import { goRegexProblem } from './regex.js';
import type { CryptRules } from './tree.js';
import { Branch, Comment, GoFloat, GoInt, GoTimeValue, type TreeItem, type TreeValue } from './values.js';

export interface AgeEntry {
  type: 'age';
  recipient: string;
  enc: string;
}
export interface PgpEntry {
  type: 'pgp';
  fp: string;
  enc: string;
}
/** An AWS KMS key: the data key is KMS ciphertext, opened with the recorded context and role. */
export interface AwsKmsEntry {
  type: 'aws_kms';
  /** The key ARN (for messages and the Decrypt call). */
  id: string;
  /** IAM role to assume (STS AssumeRole) before calling KMS; '' when none. */
  role: string;
  /** KMS encryption context recorded by sops (sent with Decrypt: it is bound to the ciphertext). */
  context: Record<string, string>;
  /** Shared-config profile recorded by sops ('' when none; only the CLI reads shared config). */
  awsProfile: string;
  /** Base64 KMS ciphertext of the data key. */
  enc: string;
}
/** A GCP KMS key: `resource_id` is projects/…/locations/…/keyRings/…/cryptoKeys/…. */
export interface GcpKmsEntry {
  type: 'gcp_kms';
  /** The resource id (for messages and the Decrypt call). */
  id: string;
  /** Base64 KMS ciphertext of the data key. */
  enc: string;
}
/** An Azure Key Vault key: RSA-OAEP-256 ciphertext of the data key. */
export interface AzureKvEntry {
  type: 'azure_kv';
  /** `vault_url/keys/name/version` (for messages). */
  id: string;
  vaultUrl: string;
  name: string;
  version: string;
  /** Base64url (unpadded) RSA-OAEP-256 ciphertext of the data key. */
  enc: string;
}
/** A HashiCorp Vault transit key. */
export interface VaultEntry {
  type: 'hc_vault';
  /** `vault_address/v1/engine_path/keys/key_name` (for messages). */
  id: string;
  address: string;
  enginePath: string;
  keyName: string;
  /** Transit ciphertext (`vault:v1:…`) of the base64 data key. */
  enc: string;
}
/** HuaweiCloud KMS: recognised, not supported. */
export interface OtherEntry {
  type: 'hckms';
  /** Which key it is, for messages. */
  id: string;
}
/** A key whose data key is opened by a network key service. */
export type KmsEntry = AwsKmsEntry | GcpKmsEntry | AzureKvEntry | VaultEntry;
export type KeyEntry = AgeEntry | PgpEntry | KmsEntry | OtherEntry;

export interface SopsMetadata extends CryptRules {
  keyGroups: KeyEntry[][];
  shamirThreshold: number;
  lastModified: string; // as sops formats it for the MAC's additional data (RFC 3339)
  mac: string;
  version: string;
}

export const METADATA_KEY = 'sops';

// ---------------------------------------------------------------------------
// Conversion of the metadata sub-tree to plain JS values

type Plain = null | string | boolean | number | bigint | Plain[] | { [k: string]: Plain } | { time: string };

function toPlain(v: TreeValue): Plain {
  if (v instanceof Branch) {
    const o: { [k: string]: Plain } = {};
    for (const it of v.items) {
      if (it.key instanceof Comment) continue;
      o[it.key] = toPlain(it.value);
    }
    return o;
  }
  if (Array.isArray(v)) return v.filter((x) => !(x instanceof Comment)).map(toPlain);
  if (v instanceof GoInt) return v.value;
  if (v instanceof GoFloat) return v.value;
  if (v instanceof GoTimeValue) return { time: formatRFC3339(v.value) };
  if (v instanceof Comment) return null;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  return null;
}

class MetaError extends Error {}

function weakString(v: Plain | undefined, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return formatFloatF(v);
  if (typeof v === 'object' && !Array.isArray(v) && 'time' in v && typeof v.time === 'string') return v.time;
  throw new MetaError(`field ${field} should be a string`);
}

function weakInt(v: Plain | undefined, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    if (v === '') return 0;
    if (/^[+-]?\d+$/.test(v)) return Number(v);
    throw new MetaError(`field ${field} should be a number`);
  }
  throw new MetaError(`field ${field} should be a number`);
}

function weakBool(v: Plain | undefined, field: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') {
    if (v === '') return false;
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  }
  throw new MetaError(`field ${field} should be a boolean`);
}

/** A string-to-string mapping (the AWS KMS encryption context); values weakly typed like sops. */
function stringMap(v: Plain | undefined, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new MetaError(`field ${field} should be a mapping`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = weakString(x, `${field}.${k}`);
  return out;
}

function asList(v: Plain | undefined, field: string): { [k: string]: Plain }[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return [];
  if (!Array.isArray(v)) throw new MetaError(`field ${field} should be a list`);
  return v.map((x) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x))
      throw new MetaError(`entries of ${field} should be mappings`);
    return x as { [k: string]: Plain };
  });
}

function entriesOf(group: { [k: string]: Plain }, prefix: string): KeyEntry[] {
  const out: KeyEntry[] = [];
  for (const k of asList(group['kms'], `${prefix}kms`)) {
    out.push({
      type: 'aws_kms',
      id: weakString(k['arn'], 'kms.arn'),
      role: weakString(k['role'], 'kms.role'),
      context: stringMap(k['context'], 'kms.context'),
      awsProfile: weakString(k['aws_profile'], 'kms.aws_profile'),
      enc: weakString(k['enc'], 'kms.enc'),
    });
  }
  for (const k of asList(group['gcp_kms'], `${prefix}gcp_kms`)) {
    out.push({
      type: 'gcp_kms',
      id: weakString(k['resource_id'], 'gcp_kms.resource_id'),
      enc: weakString(k['enc'], 'gcp_kms.enc'),
    });
  }
  for (const k of asList(group['hckms'], `${prefix}hckms`)) {
    out.push({ type: 'hckms', id: weakString(k['key_id'], 'hckms.key_id') });
  }
  for (const k of asList(group['azure_kv'], `${prefix}azure_kv`)) {
    const vaultUrl = weakString(k['vault_url'], 'azure_kv.vault_url');
    const name = weakString(k['name'], 'azure_kv.name');
    const version = weakString(k['version'], 'azure_kv.version');
    out.push({
      type: 'azure_kv',
      id: `${vaultUrl.replace(/\/$/, '')}/keys/${name}/${version}`,
      vaultUrl,
      name,
      version,
      enc: weakString(k['enc'], 'azure_kv.enc'),
    });
  }
  for (const k of asList(group['hc_vault'], `${prefix}hc_vault`)) {
    const address = weakString(k['vault_address'], 'hc_vault.vault_address');
    const enginePath = weakString(k['engine_path'], 'hc_vault.engine_path');
    const keyName = weakString(k['key_name'], 'hc_vault.key_name');
    out.push({
      type: 'hc_vault',
      id: `${address.replace(/\/$/, '')}/v1/${enginePath}/keys/${keyName}`,
      address,
      enginePath,
      keyName,
      enc: weakString(k['enc'], 'hc_vault.enc'),
    });
  }
  for (const k of asList(group['pgp'], `${prefix}pgp`)) {
    out.push({ type: 'pgp', fp: weakString(k['fp'], 'pgp.fp'), enc: weakString(k['enc'], 'pgp.enc') });
  }
  for (const k of asList(group['age'], `${prefix}age`)) {
    out.push({
      type: 'age',
      recipient: weakString(k['recipient'], 'age.recipient'),
      enc: weakString(k['enc'], 'age.enc'),
    });
  }
  return out;
}

/** Decodes the metadata sub-tree; throws SopsInvalidFile naming the file on problems. */
export function decodeMetadata(tree: Branch, fileName: string): SopsMetadata {
  const m = toPlain(tree) as { [k: string]: Plain };
  try {
    const topLevel = entriesOf(m, '');
    let keyGroups: KeyEntry[][];
    if (topLevel.length > 0) {
      keyGroups = [topLevel];
    } else {
      const groups = asList(m['key_groups'], 'key_groups');
      if (groups.length === 0) throw new MetaError('no keys found in the sops metadata');
      keyGroups = groups.map((g, i) => entriesOf(g, `key_groups[${i}].`));
    }
    const lastModifiedRaw = weakString(m['lastmodified'], 'lastmodified');
    const lm = parseRFC3339(lastModifiedRaw);
    if (!lm) throw new MetaError('lastmodified is not an RFC 3339 timestamp');
    const rules: CryptRules = {
      unencryptedSuffix: weakString(m['unencrypted_suffix'], 'unencrypted_suffix'),
      encryptedSuffix: weakString(m['encrypted_suffix'], 'encrypted_suffix'),
      unencryptedRegex: weakString(m['unencrypted_regex'], 'unencrypted_regex'),
      encryptedRegex: weakString(m['encrypted_regex'], 'encrypted_regex'),
      unencryptedCommentRegex: weakString(m['unencrypted_comment_regex'], 'unencrypted_comment_regex'),
      encryptedCommentRegex: weakString(m['encrypted_comment_regex'], 'encrypted_comment_regex'),
      macOnlyEncrypted: weakBool(m['mac_only_encrypted'], 'mac_only_encrypted'),
    };
    const ruleCount = [
      rules.unencryptedSuffix,
      rules.encryptedSuffix,
      rules.unencryptedRegex,
      rules.encryptedRegex,
      rules.unencryptedCommentRegex,
      rules.encryptedCommentRegex,
    ].filter((r) => r !== '').length;
    if (ruleCount > 1) {
      throw new MetaError(
        'more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, unencrypted_comment_regex is set',
      );
    }
    if (ruleCount === 0) rules.unencryptedSuffix = '_unencrypted';
    for (const [field, pattern] of [
      ['unencrypted_regex', rules.unencryptedRegex],
      ['encrypted_regex', rules.encryptedRegex],
      ['unencrypted_comment_regex', rules.unencryptedCommentRegex],
      ['encrypted_comment_regex', rules.encryptedCommentRegex],
    ] as const) {
      const problem = pattern === '' ? undefined : goRegexProblem(pattern);
      if (problem) throw new MetaError(`${field} is not a valid Go regular expression: ${problem}`);
    }
    return {
      ...rules,
      keyGroups,
      shamirThreshold: weakInt(m['shamir_threshold'], 'shamir_threshold'),
      lastModified: formatRFC3339(lm),
      mac: weakString(m['mac'], 'mac'),
      version: weakString(m['version'], 'version'),
    };
  } catch (e) {
    if (e instanceof MetaError)
      throw new SmcError('SopsInvalidFile', `${fileName}: invalid sops metadata: ${e.message}`);
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Extraction

function notFound(fileName: string): SmcError {
  return new SmcError(
    'SopsInvalidFile',
    `${fileName}: sops metadata not found; the file is not encrypted with sops`,
  );
}

/** MetadataFlattenNone: a nested `sops` mapping in the first branch; removed from all branches. */
export function extractNested(branches: Branch[], fileName: string): Branch {
  let meta: Branch | null = null;
  let first = true;
  branches.forEach((branch, bi) => {
    const kept: TreeItem[] = [];
    for (const it of branch.items) {
      if (it.key === METADATA_KEY) {
        if (bi === 0) {
          if (!first) throw new SmcError('SopsInvalidFile', `${fileName}: found a duplicate "sops" entry`);
          first = false;
          if (!(it.value instanceof Branch)) {
            throw new SmcError('SopsInvalidFile', `${fileName}: the "sops" entry is not a mapping`);
          }
          meta = it.value;
        }
        continue;
      }
      kept.push(it);
    }
    branch.items.splice(0, branch.items.length, ...kept);
  });
  if (meta === null) throw notFound(fileName);
  return meta;
}

/** MetadataFlattenBelowTop (INI): a `sops` section whose keys are flattened paths. */
export function extractBelowTop(branches: Branch[], fileName: string): Branch {
  const section = extractNested(branches, fileName);
  const items = section.items.map((it) =>
    typeof it.value === 'string' ? { key: it.key, value: it.value.replaceAll('\\n', '\n') } : it,
  );
  return unflatten(items, fileName);
}

/** MetadataFlattenFull (dotenv): top-level keys prefixed with `sops_`. */
export function extractFull(branches: Branch[], fileName: string): Branch {
  const meta: TreeItem[] = [];
  const b0 = branches[0];
  if (b0) {
    const kept: TreeItem[] = [];
    for (const it of b0.items) {
      if (typeof it.key === 'string' && it.key.startsWith('sops_')) {
        meta.push({ key: it.key.slice('sops_'.length), value: it.value });
      } else {
        kept.push(it);
      }
    }
    b0.items.splice(0, b0.items.length, ...kept);
  }
  if (meta.length === 0) throw notFound(fileName);
  return unflatten(meta, fileName);
}

type Tok = { map: string } | { list: number };

function tokenize(path: string): Tok[] {
  const MAP = '__map_';
  const LIST = '__list_';
  const tokens: Tok[] = [];
  let state: 'normal' | 'map' | 'list' = 'normal';
  let last = 0;
  let i = 0;
  const finish = (): void => {
    if (state === 'normal') tokens.push({ map: path.slice(last, i) });
    else if (state === 'map') tokens.push({ map: path.slice(last + MAP.length, i) });
    else tokens.push({ list: Number.parseInt(path.slice(last + LIST.length, i), 10) || 0 });
    last = i;
  };
  while (i < path.length) {
    if (path.startsWith(MAP, i)) {
      finish();
      state = 'map';
      i += MAP.length;
    } else if (path.startsWith(LIST, i)) {
      finish();
      state = 'list';
      i += LIST.length;
    } else {
      i++;
    }
  }
  finish();
  return tokens;
}

interface UNode {
  value?: TreeValue;
  has: boolean;
  sub?: Map<string, UNode>;
  idx?: Map<number, UNode>;
}

function unflatten(items: TreeItem[], fileName: string): Branch {
  const root: UNode = { has: false };
  for (const it of items) {
    if (it.key instanceof Comment) continue;
    let node = root;
    for (const t of tokenize(it.key)) {
      if ('map' in t) {
        node.sub ??= new Map();
        let next = node.sub.get(t.map);
        if (!next) node.sub.set(t.map, (next = { has: false }));
        node = next;
      } else {
        node.idx ??= new Map();
        let next = node.idx.get(t.list);
        if (!next) node.idx.set(t.list, (next = { has: false }));
        node = next;
      }
    }
    if (node.has)
      throw new SmcError('SopsInvalidFile', `${fileName}: duplicate sops metadata entry ${it.key}`);
    node.has = true;
    node.value = it.value;
  }
  const convert = (n: UNode): TreeValue => {
    const kinds = Number(n.has) + Number((n.sub?.size ?? 0) > 0) + Number((n.idx?.size ?? 0) > 0);
    if (kinds > 1) throw new SmcError('SopsInvalidFile', `${fileName}: inconsistent flattened sops metadata`);
    if (n.has) return n.value ?? null;
    if (n.sub && n.sub.size > 0) {
      const keys = [...n.sub.keys()].sort();
      return new Branch(keys.map((k) => ({ key: k, value: convert(n.sub!.get(k)!) })));
    }
    if (n.idx && n.idx.size > 0) {
      const max = Math.max(...n.idx.keys());
      if (Math.min(...n.idx.keys()) !== 0 || max + 1 !== n.idx.size) {
        throw new SmcError('SopsInvalidFile', `${fileName}: incomplete list in flattened sops metadata`);
      }
      const out: TreeValue[] = [];
      for (let i = 0; i <= max; i++) out.push(convert(n.idx.get(i)!));
      return out;
    }
    return new Branch();
  };
  const r = convert(root);
  if (!(r instanceof Branch))
    throw new SmcError('SopsInvalidFile', `${fileName}: invalid flattened sops metadata`);
  return r;
}
