/**
 * Walks a document tree like sops' TreeBranch.walkBranch, decides per value whether it is
 * encrypted (unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex,
 * unencrypted_comment_regex, encrypted_comment_regex), decrypts it, and computes the MAC:
 * SHA-512 over the plaintext bytes of every non-comment value in document order (only the
 * encrypted ones when mac_only_encrypted), upper-case hex.
 */
import { type Hash, type KeyObject, createHash, createSecretKey } from 'node:crypto';
import { SmcError } from '../errors.js';
import { CipherError, decryptValueWithBytes, toMacBytes } from './cipher.js';
import { goRegexMatch } from './regex.js';
import { Branch, Comment, type Scalar, type TreeValue, typeName } from './values.js';

export interface CryptRules {
  unencryptedSuffix: string;
  encryptedSuffix: string;
  unencryptedRegex: string;
  encryptedRegex: string;
  unencryptedCommentRegex: string;
  encryptedCommentRegex: string;
  macOnlyEncrypted: boolean;
}

/** sha256("sops"): the MAC's starting bytes when mac_only_encrypted is set. */
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from(
  '8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69',
  'hex',
);

/**
 * Where a value sits: its key path, the path as sops' additional data (the keys joined by ":"
 * plus a final ":"), and what the key rules found on the way down. Built one level at a time,
 * so a value costs O(1) here whatever its depth: the rules test each key once for the whole
 * subtree below it, not once per value under it. (Only the additional data itself grows with
 * the path, as in sops.)
 */
export class KeyPath {
  private constructor(
    private readonly parent: KeyPath | null,
    private readonly key: string,
    /** The keys so far, each followed by ":". */
    private readonly prefix: string,
    /** Some key so far ends with unencrypted_suffix / encrypted_suffix, matches unencrypted_regex / encrypted_regex. */
    readonly unencryptedSuffix: boolean,
    readonly encryptedSuffix: boolean,
    readonly unencryptedRegex: boolean,
    readonly encryptedRegex: boolean,
  ) {}

  static root(): KeyPath {
    return new KeyPath(null, '', '', false, false, false, false);
  }

  child(key: string, rules: CryptRules): KeyPath {
    const r = rules;
    return new KeyPath(
      this,
      key,
      this.prefix + key + ':',
      this.unencryptedSuffix || (r.unencryptedSuffix !== '' && key.endsWith(r.unencryptedSuffix)),
      this.encryptedSuffix || (r.encryptedSuffix !== '' && key.endsWith(r.encryptedSuffix)),
      this.unencryptedRegex || (r.unencryptedRegex !== '' && goRegexMatch(r.unencryptedRegex, key)),
      this.encryptedRegex || (r.encryptedRegex !== '' && goRegexMatch(r.encryptedRegex, key)),
    );
  }

  /** sops' additional data: `strings.Join(path, ":") + ":"`. */
  get aad(): string {
    return this.parent === null ? ':' : this.prefix;
  }

  /** The keys from the top, for messages. */
  keys(): string[] {
    const out = this.parent === null ? [] : this.parent.keys();
    if (this.parent !== null) out.push(this.key);
    return out;
  }
}

/**
 * The comments seen at one nesting level since its last non-comment value, and which of them
 * match the comment regexes (each comment is matched once, when it is seen). What the levels
 * above hold cannot change while this level is walked, so it is summed up once, when the level
 * starts: deciding a value costs O(1), not O(depth) or O(comments).
 */
export class CommentLevel {
  private unenc = 0;
  private enc = 0;
  private count = 0;
  private lastEnc = false;
  private readonly aboveUnenc: boolean;
  private readonly aboveEnc: boolean;

  constructor(
    private readonly rules: CryptRules,
    above: CommentLevel | null,
  ) {
    this.aboveUnenc = above !== null && (above.aboveUnenc || above.unenc > 0);
    this.aboveEnc = above !== null && (above.aboveEnc || above.enc > 0);
  }

  push(comment: string): void {
    const { unencryptedCommentRegex: unenc, encryptedCommentRegex: enc } = this.rules;
    this.count++;
    if (unenc !== '' && goRegexMatch(unenc, comment)) this.unenc++;
    this.lastEnc = enc !== '' && goRegexMatch(enc, comment);
    if (this.lastEnc) this.enc++;
  }

  /** A non-comment value ends the run of comments. */
  reset(): void {
    this.unenc = this.enc = this.count = 0;
    this.lastEnc = false;
  }

  /** Some comment here or above matches unencrypted_comment_regex. */
  unencrypted(): boolean {
    return this.aboveUnenc || this.unenc > 0;
  }

  /** Some comment here or above matches encrypted_comment_regex, leaving out the comment being decided. */
  encrypted(isComment: boolean): boolean {
    const self = isComment && this.count > 0 && this.lastEnc ? 1 : 0;
    return this.aboveEnc || this.enc - self > 0;
  }
}

/** sops' shouldBeEncrypted for a value at `path` after the comments of `level`. */
export function shouldBeEncrypted(
  rules: CryptRules,
  path: KeyPath,
  level: CommentLevel,
  isComment: boolean,
): boolean {
  let encrypted = true;
  if (rules.unencryptedSuffix !== '' && path.unencryptedSuffix) encrypted = false;
  if (rules.encryptedSuffix !== '') encrypted = path.encryptedSuffix;
  if (rules.unencryptedRegex !== '' && path.unencryptedRegex) encrypted = false;
  if (rules.encryptedRegex !== '') encrypted = path.encryptedRegex;
  if (rules.unencryptedCommentRegex !== '' && level.unencrypted()) encrypted = false;
  // The comment line that matches is itself left in clear text.
  if (rules.encryptedCommentRegex !== '') encrypted = level.encrypted(isComment);
  return encrypted;
}

type OnLeaf = (value: Scalar | Comment, path: KeyPath, level: CommentLevel) => Scalar | Comment;

/** Walks a tree like sops' TreeBranch.walkBranch, replacing every leaf by what `onLeaf` returns. */
class Walk {
  constructor(
    private readonly rules: CryptRules,
    private readonly onLeaf: OnLeaf,
  ) {}

  value(v: TreeValue, path: KeyPath, level: CommentLevel): TreeValue {
    if (v === null) return null;
    if (v instanceof Branch) return this.branch(v, path, level);
    if (Array.isArray(v)) return this.slice(v, path, level);
    return this.onLeaf(v, path, level);
  }

  slice(list: TreeValue[], path: KeyPath, above: CommentLevel): TreeValue[] {
    const level = new CommentLevel(this.rules, above);
    for (let i = 0; i < list.length; i++) {
      const v = list[i] as TreeValue;
      const isComment = v instanceof Comment;
      if (isComment) level.push(v.value);
      list[i] = this.value(v, path, level);
      if (!isComment) level.reset();
    }
    return list;
  }

  branch(branch: Branch, path: KeyPath, above: CommentLevel | null): Branch {
    const level = new CommentLevel(this.rules, above);
    for (const item of branch.items) {
      if (item.key instanceof Comment) {
        const c = item.key;
        level.push(c.value);
        const enc = this.value(c, path, level);
        if (enc instanceof Comment) item.key = enc;
        else if (typeof enc === 'string') item.key = new Comment(enc, c.inline);
        else throw new Error('walking a comment returned a non-comment');
        continue;
      }
      const valueIsComment = item.value instanceof Comment;
      if (item.value instanceof Comment) level.push(item.value.value);
      item.value = this.value(item.value, path.child(item.key, this.rules), level);
      if (!valueIsComment) level.reset();
    }
    return branch;
  }
}

const describePath = (path: KeyPath): string => {
  const keys = path.keys();
  return keys.length === 0 ? '(top level)' : keys.join(':');
};

/**
 * Decrypts every encrypted value of the branches in place and returns the computed MAC.
 * Encrypted comments that do not decrypt are kept as they are (sops does the same: comments are
 * not covered by the MAC).
 */
export function decryptBranches(
  branches: Branch[],
  rules: CryptRules,
  dataKey: Uint8Array | KeyObject,
  fileName: string,
): string {
  // One key object for all values: createDecipheriv would otherwise import the raw key per value.
  const key = dataKey instanceof Uint8Array ? createSecretKey(dataKey) : dataKey;
  const hash: Hash = createHash('sha512');
  if (rules.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  const onLeaf: OnLeaf = (v, path, level) => {
    const isComment = v instanceof Comment;
    const encrypted = shouldBeEncrypted(rules, path, level, isComment);
    let out: Scalar | Comment = v;
    let macBytes: Buffer | null = null;
    if (encrypted) {
      const aad = path.aad;
      if (v instanceof Comment) {
        try {
          out = decryptValueWithBytes(v.value, key, aad).value;
        } catch {
          out = v; // an unencrypted comment (older sops versions)
        }
      } else if (typeof v === 'string') {
        try {
          const r = decryptValueWithBytes(v, key, aad);
          out = r.value;
          macBytes = r.plain;
        } catch (e) {
          throw cipherFailure(e, path, fileName);
        }
      } else {
        throw new SmcError(
          'SopsCorruptValue',
          `${fileName}: value at ${describePath(path)} should be encrypted but is a plain ${typeName(v)}`,
        );
      }
    }
    if (!rules.macOnlyEncrypted || encrypted) {
      // Like sops, "is a comment" is decided on the value as read. A comment that sops wrote as a
      // list item (an ENC[...] string of type comment) therefore counts, and breaks the MAC.
      if (!isComment) {
        const bytes = macBytes ?? (out instanceof Comment ? Buffer.from(out.value, 'utf8') : toMacBytes(out));
        if (bytes) hash.update(bytes);
      }
    }
    return out;
  };
  const walk = new Walk(rules, onLeaf);
  for (const b of branches) walk.branch(b, KeyPath.root(), null);
  return hash.digest('hex').toUpperCase();
}

function cipherFailure(e: unknown, path: KeyPath, fileName: string): SmcError {
  if (e instanceof CipherError) {
    if (e.failure.kind === 'auth') {
      return new SmcError(
        'SopsMacMismatch',
        `${fileName}: the encrypted value at ${describePath(path)} failed authentication; the file was modified after encryption (or the value was moved)`,
      );
    }
    if (e.failure.kind === 'type') {
      return new SmcError(
        'SopsCorruptValue',
        `${fileName}: the value at ${describePath(path)} does not decrypt to a valid ${e.failure.type}`,
      );
    }
    return new SmcError(
      'SopsCorruptValue',
      `${fileName}: the value at ${describePath(path)} is not a valid sops ENC[AES256_GCM,...] value`,
    );
  }
  return new SmcError('SopsCorruptValue', `${fileName}: cannot decrypt the value at ${describePath(path)}`);
}
