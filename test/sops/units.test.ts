/** Unit checks of the building blocks against known Go / sops behaviour. */
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CipherError, decryptValue } from '../../src/sops/cipher.js';
import {
  formatFloatF,
  formatFloatG,
  formatJsonFloat,
  goAtoi,
  parseGoFloat,
  parseGoInt,
  valToStringFloat,
} from '../../src/sops/gonum.js';
import { formatRFC3339Nano, parseGoTimestamp } from '../../src/sops/gotime.js';
import { formatFromPath, isSopsEncrypted } from '../../src/sops/index.js';
import { goJsonString } from '../../src/sops/json.js';
import { goRegexMatch } from '../../src/sops/regex.js';
import { shamirCombine, shamirSplit } from '../../src/sops/shamir.js';
import { Comment, GoFloat, GoInt } from '../../src/sops/values.js';
import { emitYaml, loadYaml } from '../../src/sops/yaml.js';
import { UPSTREAM } from './helpers.js';

function encValue(plain: string, key: Buffer, aad: string, type: string): string {
  const iv = randomBytes(32);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad));
  const data = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${c.getAuthTag().toString('base64')},type:${type}]`;
}

describe('formatFromPath', () => {
  it('maps extensions like sops', () => {
    expect(formatFromPath('a/b/secrets.yaml')).toBe('yaml');
    expect(formatFromPath('x.yml')).toBe('yaml');
    expect(formatFromPath('x.json')).toBe('json');
    expect(formatFromPath('application.secrets.env')).toBe('dotenv');
    expect(formatFromPath('x.ini')).toBe('ini');
    expect(formatFromPath('x.txt')).toBe('binary');
    expect(formatFromPath('x.properties')).toBe('binary');
    expect(formatFromPath('X.YAML')).toBe('binary');
  });
});

describe('isSopsEncrypted', () => {
  it('recognises the upstream files and rejects plain ones', () => {
    expect(isSopsEncrypted(readFileSync(join(UPSTREAM, 'example.yaml')), 'yaml')).toBe(true);
    expect(isSopsEncrypted(readFileSync(join(UPSTREAM, 'example.json')), 'json')).toBe(true);
    expect(isSopsEncrypted(readFileSync(join(UPSTREAM, 'example.ini')), 'ini')).toBe(true);
    expect(
      isSopsEncrypted(readFileSync(join(UPSTREAM, 'functional-tests__res__format.enc.env')), 'dotenv'),
    ).toBe(true);
    expect(isSopsEncrypted(readFileSync(join(UPSTREAM, 'example.txt')), 'binary')).toBe(true);
    expect(isSopsEncrypted('a: 1\nsops: not metadata\n', 'yaml')).toBe(false);
    expect(isSopsEncrypted('a: 1\n', 'yaml')).toBe(false);
    expect(isSopsEncrypted('{"a": 1}', 'json')).toBe(false);
    expect(isSopsEncrypted('A=1\n', 'dotenv')).toBe(false);
    expect(isSopsEncrypted('[a]\nb=1\n', 'ini')).toBe(false);
    expect(isSopsEncrypted(new Uint8Array([0, 1, 2, 255]), 'binary')).toBe(false);
    expect(isSopsEncrypted(':\n\t- [', 'yaml')).toBe(false);
  });
});

describe('value cipher', () => {
  const key = randomBytes(32);
  it('decrypts typed values with the path as additional data', () => {
    expect(decryptValue(encValue('hello', key, 'a:b:', 'str'), key, 'a:b:')).toBe('hello');
    expect(decryptValue(encValue('42', key, 'n:', 'int'), key, 'n:')).toEqual(new GoInt(42n));
    expect(decryptValue(encValue('9223372036854775807', key, 'n:', 'int'), key, 'n:')).toEqual(
      new GoInt(9223372036854775807n),
    );
    expect(decryptValue(encValue('1.5', key, 'f:', 'float'), key, 'f:')).toEqual(new GoFloat(1.5));
    expect(decryptValue(encValue('True', key, 'b:', 'bool'), key, 'b:')).toBe(true);
    expect(decryptValue(encValue(' note', key, 'c:', 'comment'), key, 'c:')).toEqual(new Comment(' note'));
    expect(decryptValue('', key, 'x:')).toBe('');
  });
  it('fails authentication with another path, and rejects malformed values', () => {
    const v = encValue('hello', key, 'a:b:', 'str');
    expect(() => decryptValue(v, key, 'a:c:')).toThrow(CipherError);
    expect(() => decryptValue('ENC[AES256_GCM,data:@@,iv:x,tag:y,type:str]', key, 'a:')).toThrow(CipherError);
    expect(() => decryptValue(encValue('x', key, 'a:', 'weird'), key, 'a:')).toThrow(CipherError);
    expect(() => decryptValue(encValue('notanint', key, 'a:', 'int'), key, 'a:')).toThrow(CipherError);
  });
});

describe('Go number and time formatting', () => {
  // Expected strings produced by Go 1.26 (strconv.FormatFloat / encoding/json).
  const cases: [number, string, string, string][] = [
    [1234567, '1.234567e+06', '1234567', '1234567'],
    [123456, '123456', '123456', '123456'],
    [1e8, '1e+08', '100000000', '100000000'],
    [0.0001, '0.0001', '0.0001', '0.0001'],
    [0.00001, '1e-05', '0.00001', '0.00001'],
    [1e21, '1e+21', '1000000000000000000000', '1e+21'],
    [1.5e-7, '1.5e-07', '0.00000015', '1.5e-7'],
    [100, '100', '100', '100'],
    [1e20, '1e+20', '100000000000000000000', '100000000000000000000'],
    [123456789012345680, '1.2345678901234568e+17', '123456789012345680', '123456789012345680'],
  ];
  it.each(cases)('%d', (x, g, f, json) => {
    expect(formatFloatG(x)).toBe(g);
    expect(formatFloatF(x)).toBe(f);
    expect(formatJsonFloat(x)).toBe(json);
  });
  it('parses like strconv', () => {
    expect(parseGoInt('0x1F', 0, true)).toBe(31n);
    expect(parseGoInt('0755', 0, true)).toBe(493n);
    expect(parseGoInt('0o17', 0, true)).toBe(15n);
    expect(parseGoInt('08', 0, true)).toBeNull();
    expect(parseGoInt('9223372036854775808', 0, true)).toBeNull();
    expect(parseGoInt('9223372036854775808', 0, false)).toBe(9223372036854775808n);
    expect(goAtoi('+5')).toBe(5n);
    expect(goAtoi('1_000')).toBeNull();
    expect(parseGoFloat('1e400')).toBeNull();
    expect(parseGoFloat('.5')).toBe(0.5);
    expect(valToStringFloat(25)).toBe('25.0');
    expect(valToStringFloat(25.4)).toBe('25.4');
    expect(valToStringFloat(1e7)).toBe('1E+07');
  });
  it('reads and writes timestamps like go-yaml', () => {
    expect(formatRFC3339Nano(parseGoTimestamp('2001-12-14t21:59:43.10-05:00')!)).toBe(
      '2001-12-14T21:59:43.1-05:00',
    );
    expect(formatRFC3339Nano(parseGoTimestamp('2001-12-14 1:59:43')!)).toBe('2001-12-14T01:59:43Z');
    expect(formatRFC3339Nano(parseGoTimestamp('2024-1-2')!)).toBe('2024-01-02T00:00:00Z');
    expect(parseGoTimestamp('2024-02-30')).toBeNull();
    expect(parseGoTimestamp('12:30')).toBeNull();
  });
  it('escapes JSON strings like encoding/json', () => {
    expect(goJsonString('a<b>&\u2028\x01\x08\x0c\t"\\ é')).toBe(
      '"a\\u003cb\\u003e\\u0026\\u2028\\u0001\\b\\f\\t\\"\\\\ é"',
    );
  });
});

describe('Go regular expressions', () => {
  it('translates RE2 spellings', () => {
    expect(goRegexMatch('^(data|stringData)$', 'stringData')).toBe(true);
    expect(goRegexMatch('(?i)^DATA$', 'data')).toBe(true);
    expect(goRegexMatch('[[:upper:]]+_KEY', 'API_KEY')).toBe(true);
    expect(goRegexMatch('(?P<n>secret)', 'my_secret')).toBe(true);
    expect(goRegexMatch('^pass\\z', 'password')).toBe(false);
  });
});

describe('Shamir secret sharing', () => {
  it('recombines any threshold-sized subset', () => {
    const secret = randomBytes(32);
    const parts = shamirSplit(secret, 5, 3, (n) => randomBytes(n));
    expect(Buffer.from(shamirCombine([parts[0]!, parts[2]!, parts[4]!])).equals(secret)).toBe(true);
    expect(Buffer.from(shamirCombine([parts[1]!, parts[3]!, parts[4]!, parts[0]!])).equals(secret)).toBe(
      true,
    );
    expect(Buffer.from(shamirCombine([parts[1]!, parts[3]!])).equals(secret)).toBe(false);
    expect(() => shamirCombine([parts[0]!])).toThrow();
  });
});

describe('go-yaml compatible YAML printing', () => {
  it('re-prints sops output unchanged and normalises other layouts', () => {
    const src = '# c\na:   1\nb:\n  - x   # t\nc: {d: "e"}\nlong: ' + 'word '.repeat(30).trim() + '\n';
    const out = Buffer.from(emitYaml(loadYaml(Buffer.from(src), 't.yaml'))).toString();
    expect(out).toBe('# c\na: 1\nb:\n    - x # t\nc:\n    d: e\nlong: ' + 'word '.repeat(30).trim() + '\n');
    expect(Buffer.from(emitYaml(loadYaml(Buffer.from(out), 't.yaml'))).toString()).toBe(out);
  });
});
