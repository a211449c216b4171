/**
 * The native age decryption (src/sops/age.ts) against files written by the real `age` binary:
 * every payload chunk shape, several recipients, post-quantum hybrid identities (through the
 * age-encryption library), and refusals of changed or truncated files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Encrypter, armor } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgeIdentity, AgeDecryptError, ageDecrypt, parseAgeIdentities } from '../../src/sops/age.js';
import { peerPath } from './helpers.js';

let dir: string;
let age: string;
const keys: Array<{ ids: AgeIdentity[]; recipient: string }> = [];
let pq: { ids: AgeIdentity[]; recipient: string };

async function keygen(name: string, args: string[] = []): Promise<{ ids: AgeIdentity[]; recipient: string }> {
  const file = join(dir, name);
  execFileSync(join(dirname(age), 'age-keygen'), [...args, '-o', file], { stdio: 'ignore' });
  const text = readFileSync(file, 'utf8');
  const recipient = /public key: (age1\S+)/.exec(text)?.[1];
  if (!recipient) throw new Error('age-keygen wrote no public key comment');
  return { ids: await parseAgeIdentities(text, name), recipient };
}

/** `age -a` for the recipients: the armored file sops stores as `enc`. */
function encrypt(plain: Uint8Array, recipients: string[]): string {
  return execFileSync(age, ['-a', ...recipients.flatMap((r) => ['-r', r])], { input: plain }).toString();
}

async function refusal(enc: string, ids: readonly AgeIdentity[]): Promise<string> {
  const e: unknown = await ageDecrypt(enc, ids).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AgeDecryptError);
  return (e as Error).message;
}

/** Re-armors `enc` after `change` edited its binary form. */
function edit(enc: string, change: (file: Buffer) => Buffer): string {
  return armor.encode(change(Buffer.from(armor.decode(enc))));
}

const payloadStart = (file: Buffer): number => file.indexOf('\n', file.indexOf('\n---') + 1) + 1;

beforeAll(async () => {
  age = join(dirname(peerPath('age')), 'age');
  dir = mkdtempSync(join(tmpdir(), 'age-test-'));
  keys.push(await keygen('k1.txt'), await keygen('k2.txt'), await keygen('k3.txt'));
  pq = await keygen('pq.txt', ['-pq']);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('age decryption', () => {
  it('parses identities to the recipients age-keygen prints', () => {
    for (const k of [...keys, pq]) expect(k.ids.map((i) => i.recipient)).toEqual([k.recipient]);
    expect(keys[0]!.ids[0]!.x25519).toBeDefined();
    expect(pq.ids[0]!.x25519).toBeUndefined();
  });

  // A sops data key is 32 bytes; the other sizes cover every STREAM chunk shape: empty, one
  // partial chunk, exactly one full chunk (flagged last), a full chunk and one byte, several.
  for (const size of [32, 0, 1, 65535, 65536, 65537, 131072, 200000]) {
    it(`decrypts a ${size}-byte payload for each of two recipients`, async () => {
      const plain = Buffer.alloc(size, 0);
      for (let i = 0; i < size; i++) plain[i] = (i * 31 + 7) & 0xff;
      const enc = encrypt(plain, [keys[0]!.recipient, keys[1]!.recipient]);
      expect(Buffer.from(await ageDecrypt(enc, keys[0]!.ids)).equals(plain)).toBe(true);
      expect(Buffer.from(await ageDecrypt(enc, [...keys[2]!.ids, ...keys[1]!.ids])).equals(plain)).toBe(true);
    });
  }

  it('an identity that is not a recipient: no identity matched', async () => {
    const enc = encrypt(Buffer.alloc(32, 1), [keys[0]!.recipient]);
    expect(await refusal(enc, keys[1]!.ids)).toBe('no identity matched');
  });

  it('post-quantum hybrid identities decrypt through the library, alongside X25519 ones', async () => {
    const plain = Buffer.alloc(32, 2);
    const enc = encrypt(plain, [pq.recipient]);
    expect(Buffer.from(await ageDecrypt(enc, [...keys[0]!.ids, ...pq.ids])).equals(plain)).toBe(true);
    const x = encrypt(plain, [keys[0]!.recipient]);
    expect(Buffer.from(await ageDecrypt(x, [...pq.ids, ...keys[0]!.ids])).equals(plain)).toBe(true);
    expect(await refusal(enc, keys[0]!.ids)).toBe('no identity matched');
  });

  it('a passphrase (scrypt) file is not opened by identities', async () => {
    const e = new Encrypter();
    e.setPassphrase('canary passphrase');
    e.setScryptWorkFactor(10);
    const enc = armor.encode(await e.encrypt(Buffer.alloc(32, 3)));
    expect(await refusal(enc, keys[0]!.ids)).toBe('no identity matched');
  });

  describe('changed files are refused', () => {
    let enc: string;
    const plain = Buffer.alloc(65536 + 100, 4);
    beforeAll(() => {
      enc = encrypt(plain, [keys[0]!.recipient]);
    });

    it('control: the untouched file decrypts', async () => {
      expect(Buffer.from(await ageDecrypt(enc, keys[0]!.ids)).equals(plain)).toBe(true);
    });

    it('a changed header MAC', async () => {
      const changed = edit(enc, (f) => {
        const at = f.indexOf('\n---') + 6;
        f[at] = f[at] === 0x41 ? 0x42 : 0x41;
        return f;
      });
      expect(await refusal(changed, keys[0]!.ids)).toBe('age decryption failed');
    });

    it('an added stanza (the header MAC no longer matches)', async () => {
      const changed = edit(enc, (f) => {
        const at = f.indexOf('\n---') + 1;
        return Buffer.concat([f.subarray(0, at), Buffer.from('-> extra arg\n\n'), f.subarray(at)]);
      });
      expect(await refusal(changed, keys[0]!.ids)).toBe('age decryption failed');
    });

    it('a changed wrapped file key: the identity does not open it', async () => {
      const changed = edit(enc, (f) => {
        const line = f.indexOf('\n', f.indexOf('-> X25519')) + 1;
        f[line] = f[line] === 0x41 ? 0x42 : 0x41;
        return f;
      });
      expect(await refusal(changed, keys[0]!.ids)).toBe('no identity matched');
    });

    it('a low-order (all-zero) ephemeral share', async () => {
      const changed = edit(enc, (f) =>
        Buffer.from(f.toString('latin1').replace(/-> X25519 \S+/, `-> X25519 ${'A'.repeat(43)}`), 'latin1'),
      );
      expect(await refusal(changed, keys[0]!.ids)).toBe('age decryption failed');
    });

    it('a changed payload byte, in the first or the last chunk', async () => {
      for (const offset of [20, -5]) {
        const changed = edit(enc, (f) => {
          const at = offset > 0 ? payloadStart(f) + offset : f.length + offset;
          f[at] = (f[at] as number) ^ 1;
          return f;
        });
        expect(await refusal(changed, keys[0]!.ids)).toBe('age decryption failed');
      }
    });

    it('a payload cut after its first chunk, or cut short', async () => {
      const firstChunkOnly = edit(enc, (f) => f.subarray(0, payloadStart(f) + 16 + 65536 + 16));
      expect(await refusal(firstChunkOnly, keys[0]!.ids)).toBe('age decryption failed');
      const noPayload = edit(enc, (f) => f.subarray(0, payloadStart(f) + 10));
      expect(await refusal(noPayload, keys[0]!.ids)).toBe('age decryption failed');
    });

    it('not armored age data', async () => {
      expect(
        await refusal(
          '-----BEGIN AGE ENCRYPTED FILE-----\nnot base64!\n-----END AGE ENCRYPTED FILE-----\n',
          keys[0]!.ids,
        ),
      ).toMatch(/not a valid armored age file/);
    });
  });
});
