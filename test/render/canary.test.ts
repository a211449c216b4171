/**
 * Canary: a secret value must never appear in an error message, whatever went wrong and wherever
 * (parsers, raw-file rendering, kustomize and its stderr).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmcError } from '../../src/errors.js';
import {
  parseEnv,
  parseProperties,
  parseYaml,
  renderKustomize,
  renderRawFiles,
  type DecryptFile,
} from '../../src/render/index.js';
import { peerPath } from '../peers.js';
import { makeTree, removeTree } from './helpers.js';
import { newAgeKey, sopsEncryptInPlace } from './sops-fixtures.js';

const CANARY = 'Zq7canaryS3cr3tVa1ue';

async function messageOf(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(SmcError);
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

async function expectClean(f: () => unknown): Promise<string> {
  const msg = await messageOf(f);
  expect(msg).not.toContain(CANARY);
  expect(msg).not.toContain(CANARY.slice(0, 8));
  expect(msg).not.toContain(CANARY.slice(-8));
  expect(msg).not.toContain(Buffer.from(CANARY).toString('base64').slice(0, 12));
  return msg;
}

describe('no secret value in error messages', () => {
  it('env parser', async () => {
    for (const text of [
      `${CANARY}`,
      `A=1\n${CANARY} more words`,
      `1X=${CANARY}`,
      `A B=${CANARY}`,
      `A="${CANARY}`,
      `A='${CANARY}`,
      `A="${CANARY}" ${CANARY}`,
      `A=${CANARY}\nA=${CANARY}2`,
    ]) {
      await expectClean(() => parseEnv(text, 'f.env'));
    }
  });

  it('YAML parser', async () => {
    for (const text of [
      `a: ${CANARY}\n---\nb: ${CANARY}`,
      `a: [${CANARY}`,
      `a: "${CANARY}`,
      `- ${CANARY}`,
      `${CANARY}`,
      `a: ${CANARY}\na: ${CANARY}2`,
      `a.b: ${CANARY}\na:\n  b: ${CANARY}`,
      `? [${CANARY}]\n: 1`,
      `a:\n  b: ${CANARY}\n c: ${CANARY}`,
      `a: !!binary ${CANARY}\n  x: y`,
      `base: &b {x: ${CANARY}}\no:\n  <<: *b`,
      `\t a: ${CANARY}`,
    ]) {
      await expectClean(() => parseYaml(text, 'f.yaml'));
    }
  });

  it('properties parser', async () => {
    for (const text of [`k=\\u${CANARY}`, `=${CANARY}`, `a=1\n = ${CANARY}`]) {
      await expectClean(() => parseProperties(text, 'f.properties'));
    }
  });

  describe('render', () => {
    const roots: string[] = [];
    afterAll(() => roots.forEach(removeTree));
    let recipient: string;
    beforeAll(() => {
      recipient = newAgeKey().recipient;
    });

    it('raw files: invalid UTF-8 and ciphertext', async () => {
      const file = 'svc/deployment-configuration/profiles/prod/application.secrets.env';
      const bytes = Buffer.concat([Buffer.from(`A=${CANARY}`), Buffer.from([0xff]), Buffer.from(CANARY)]);
      const root = makeTree({ [file]: bytes });
      roots.push(root);
      const noDecrypt: DecryptFile = () => Promise.reject(new Error('unexpected'));
      const msg = await expectClean(() =>
        renderRawFiles({ root, environment: 'prod', rootServiceName: 'x', decrypt: noDecrypt }),
      );
      expect(msg).toContain(file);
    });

    it('kustomize: its stderr quoting a decrypted file is redacted', async () => {
      const root = makeTree({
        'k/kustomization.yaml': 'secretGenerator:\n  - name: s\n    envs: [secrets.env]\n',
        'k/secrets.env': 'PLACEHOLDER=1\n',
      });
      roots.push(root);
      sopsEncryptInPlace(path.join(root, 'k/secrets.env'), recipient);
      // The "decrypted" text has a line kustomize rejects by quoting it (bytes and text).
      const plaintext = Buffer.concat([
        Buffer.from(`GOOD=1\nBAD=${CANARY}`),
        Buffer.from([0xff]),
        Buffer.from(`\n`),
      ]);
      const decrypt: DecryptFile = async () => new Uint8Array(plaintext);
      const msg = await expectClean(() =>
        renderKustomize({ root, kustomizePath: 'k', decrypt, kustomizeBin: peerPath('kustomize') }),
      );
      expect(msg).toMatch(/^kustomize build k failed/);
      expect(msg).toContain('[REDACTED]');
    });

    it('kustomize: a Secret that is not base64 or holds binary data', async () => {
      const secret = (data: string) =>
        `apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: ${data}\n`;
      for (const data of [
        `"${CANARY}!"`,
        Buffer.concat([Buffer.from(CANARY), Buffer.from([0xff])]).toString('base64'),
      ]) {
        const root = makeTree({ 'k/kustomization.yaml': 'resources: [s.yaml]\n', 'k/s.yaml': secret(data) });
        roots.push(root);
        const noDecrypt: DecryptFile = () => Promise.reject(new Error('unexpected'));
        await expectClean(() =>
          renderKustomize({
            root,
            kustomizePath: 'k',
            decrypt: noDecrypt,
            kustomizeBin: peerPath('kustomize'),
          }),
        );
      }
    });
  });
});
