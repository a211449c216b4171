/**
 * Walks a document tree like sops' TreeBranch.walkBranch, decides per value whether it is
 * encrypted (unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex,
 * unencrypted_comment_regex, encrypted_comment_regex), decrypts it, and computes the MAC:
 * SHA-512 over the plaintext bytes of every non-comment value in document order (only the
 * encrypted ones when mac_only_encrypted), upper-case hex.
 */
import { createHash, createSecretKey, type Hash } from 'node:crypto';
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

type OnLeaf = (value: Scalar | Comment, path: string[], comments: string[][]) => Scalar | Comment;

function walkValue(v: TreeValue, path: string[], comments: string[][], onLeaf: OnLeaf): TreeValue {
  if (v === null) return null;
  if (v instanceof Branch) return walkBranch(v, path, comments, onLeaf);
  if (Array.isArray(v)) return walkSlice(v, path, comments, onLeaf);
  return onLeaf(v, path, comments);
}

function walkSlice(list: TreeValue[], path: string[], commentsIn: string[][], onLeaf: OnLeaf): TreeValue[] {
  const comments = [...commentsIn, []];
  const top = comments.length - 1;
  for (let i = 0; i < list.length; i++) {
    const v = list[i] as TreeValue;
    const isComment = v instanceof Comment;
    // In place: the level arrays only ever grow or are replaced (copying per comment is quadratic).
    if (isComment) (comments[top] as string[]).push(v.value);
    list[i] = walkValue(v, path, comments, onLeaf);
    if (!isComment) comments[top] = [];
  }
  return list;
}

function walkBranch(branch: Branch, path: string[], commentsIn: string[][], onLeaf: OnLeaf): Branch {
  const comments = [...commentsIn, []];
  const top = comments.length - 1;
  for (const item of branch.items) {
    if (item.key instanceof Comment) {
      const c = item.key;
      (comments[top] as string[]).push(c.value);
      const enc = walkValue(c, path, comments, onLeaf);
      if (enc instanceof Comment) item.key = enc;
      else if (typeof enc === 'string') item.key = new Comment(enc, c.inline);
      else throw new Error('walking a comment returned a non-comment');
      continue;
    }
    const valueIsComment = item.value instanceof Comment;
    if (item.value instanceof Comment) (comments[top] as string[]).push(item.value.value);
    item.value = walkValue(item.value, [...path, item.key], comments, onLeaf);
    if (!valueIsComment) comments[top] = [];
  }
  return branch;
}

/**
 * Which comments match the comment regexes, counted per level as the levels grow, so a leaf
 * after a long run of comments costs O(levels), not O(comments). Relies on the walk's level
 * arrays only ever growing (or being replaced by new ones).
 */
export class CommentMatches {
  private readonly memo = new WeakMap<
    string[],
    { seen: number; unenc: number; enc: number; lastEnc: boolean }
  >();
  constructor(private readonly rules: CryptRules) {}

  private of(level: string[]) {
    let m = this.memo.get(level);
    if (m === undefined) {
      m = { seen: 0, unenc: 0, enc: 0, lastEnc: false };
      this.memo.set(level, m);
    }
    const { unencryptedCommentRegex: unenc, encryptedCommentRegex: enc } = this.rules;
    for (; m.seen < level.length; m.seen++) {
      const c = level[m.seen] as string;
      if (unenc !== '' && goRegexMatch(unenc, c)) m.unenc++;
      m.lastEnc = enc !== '' && goRegexMatch(enc, c);
      if (m.lastEnc) m.enc++;
    }
    return m;
  }

  /** Some comment matches unencrypted_comment_regex. */
  unencrypted(levels: string[][]): boolean {
    return levels.some((l) => this.of(l).unenc > 0);
  }

  /** Some comment matches encrypted_comment_regex, leaving out the comment being decided. */
  encrypted(levels: string[][], isComment: boolean): boolean {
    const last = levels.length - 1;
    return levels.some((l, i) => {
      const m = this.of(l);
      const self = isComment && i === last && l.length > 0 && m.lastEnc ? 1 : 0;
      return m.enc - self > 0;
    });
  }
}

export function shouldBeEncrypted(
  rules: CryptRules,
  path: string[],
  comments: string[][],
  isComment: boolean,
  matches = new CommentMatches(rules),
): boolean {
  let encrypted = true;
  if (rules.unencryptedSuffix !== '') {
    if (path.some((p) => p.endsWith(rules.unencryptedSuffix))) encrypted = false;
  }
  if (rules.encryptedSuffix !== '') {
    encrypted = path.some((p) => p.endsWith(rules.encryptedSuffix));
  }
  if (rules.unencryptedRegex !== '') {
    if (path.some((p) => goRegexMatch(rules.unencryptedRegex, p))) encrypted = false;
  }
  if (rules.encryptedRegex !== '') {
    encrypted = path.some((p) => goRegexMatch(rules.encryptedRegex, p));
  }
  if (rules.unencryptedCommentRegex !== '') {
    if (matches.unencrypted(comments)) encrypted = false;
  }
  if (rules.encryptedCommentRegex !== '') {
    // The comment line that matches is itself left in clear text.
    encrypted = matches.encrypted(comments, isComment);
  }
  return encrypted;
}

const describePath = (path: string[]): string => (path.length === 0 ? '(top level)' : path.join(':'));

/**
 * Decrypts every encrypted value of the branches in place and returns the computed MAC.
 * Encrypted comments that do not decrypt are kept as they are (sops does the same: comments are
 * not covered by the MAC).
 */
export function decryptBranches(
  branches: Branch[],
  rules: CryptRules,
  dataKey: Uint8Array,
  fileName: string,
): string {
  // One key object for all values (createDecipheriv would otherwise import the raw key per value).
  const key = createSecretKey(dataKey);
  const hash: Hash = createHash('sha512');
  if (rules.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  const matches = new CommentMatches(rules);
  const onLeaf: OnLeaf = (v, path, comments) => {
    const isComment = v instanceof Comment;
    const encrypted = shouldBeEncrypted(rules, path, comments, isComment, matches);
    let out: Scalar | Comment = v;
    let macBytes: Buffer | null = null;
    if (encrypted) {
      const aad = path.join(':') + ':';
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
  for (const b of branches) walkBranch(b, [], [], onLeaf);
  return hash.digest('hex').toUpperCase();
}

function cipherFailure(e: unknown, path: string[], fileName: string): SmcError {
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
