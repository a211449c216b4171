/** File format detection (sops' FormatForPath) and a cheap "is this a sops file?" check. */
import { loadBinary } from './binary.js';
import { loadDotenv } from './dotenv.js';
import { loadIni } from './ini.js';
import { loadJson } from './json.js';
import { extractBelowTop, extractFull, extractNested } from './metadata.js';
import { Branch } from './values.js';
import { loadYaml } from './yaml.js';

export type SopsFormat = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary';

/** .yaml/.yml → yaml, .json → json, .env → dotenv, .ini → ini, anything else → binary (case-sensitive, like sops). */
export function formatFromPath(path: string): SopsFormat {
  if (path.endsWith('.yaml') || path.endsWith('.yml')) return 'yaml';
  if (path.endsWith('.json')) return 'json';
  if (path.endsWith('.env')) return 'dotenv';
  if (path.endsWith('.ini')) return 'ini';
  return 'binary';
}

export function loadTree(
  format: SopsFormat,
  content: Uint8Array,
  fileName: string,
): { branches: Branch[]; meta: Branch } {
  switch (format) {
    case 'yaml': {
      const branches = loadYaml(content, fileName);
      return { branches, meta: extractNested(branches, fileName) };
    }
    case 'json': {
      const branches = loadJson(content, fileName);
      return { branches, meta: extractNested(branches, fileName) };
    }
    case 'binary': {
      const branches = loadBinary(content, fileName);
      return { branches, meta: extractNested(branches, fileName) };
    }
    case 'dotenv': {
      const branches = loadDotenv(content, fileName);
      return { branches, meta: extractFull(branches, fileName) };
    }
    case 'ini': {
      const branches = loadIni(content, fileName);
      return { branches, meta: extractBelowTop(branches, fileName) };
    }
  }
}

const QUICK: Record<SopsFormat, RegExp> = {
  yaml: /(^|\n)sops:/,
  json: /"sops"\s*:/,
  binary: /"sops"\s*:/,
  dotenv: /(^|\n)sops_(mac|lastmodified|version)=/,
  ini: /(^|\n)\s*\[sops\]/,
};

/**
 * True when the content is a sops-encrypted file of that format: it parses and carries sops
 * metadata with a `lastmodified` or `mac` entry. Never throws.
 */
export function isSopsEncrypted(content: string | Uint8Array, format: SopsFormat): boolean {
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    if (!QUICK[format].test(text)) return false;
    const { meta } = loadTree(format, bytes, 'input');
    return meta.items.some((it) => it.key === 'lastmodified' || it.key === 'mac');
  } catch {
    return false;
  }
}
