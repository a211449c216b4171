/** `spec.secrets` and `spec.configs`: what is read from the source, how it is decrypted and named, and where plain configuration goes. */
import { z } from 'zod';
import * as P from '../patterns.js';
import { withRules } from '../rules.js';
import { pattern, relativePath, secretKeyRef } from './fields.js';

const SopsSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        'Decrypt SOPS-encrypted files. An encrypted file is never pushed as ciphertext: when this is ' +
          'false, or no key can decrypt it, the sync fails naming the file.',
      ),
    ageSecretRef: secretKeyRef('age identity (one or more lines)', 'age.agekey')
      .optional()
      .describe(
        'Secret with the age identity. Default: the controller-wide `sops-keys` Secret in the controller namespace, for SMCs in the namespaces the setting `controller_key_namespaces` lists (docs/security.md).',
      ),
    gpgSecretRef: secretKeyRef('ASCII-armoured PGP private key(s)', 'private.key')
      .optional()
      .describe(
        'Secret with the PGP private key(s). Default: the controller-wide `sops-keys` Secret in the controller namespace, for SMCs in the namespaces the setting `controller_key_namespaces` lists (docs/security.md).',
      ),
  })
  .describe('SOPS decryption and the keys to use.');

export const SecretsSchema = withRules(
  z.strictObject({
    environment: pattern(
      P.LABEL_VALUE,
      'must be a Kubernetes label value (letters, digits, "-", "_", ".")',
      63,
    ).describe(
      'Environment profile: selects `profiles/<environment>/` in raw-file mode and is set as the ' +
        '`environment` label or tag on every store entry.',
    ),
    kustomizePath: relativePath()
      .optional()
      .describe(
        'Kustomize-build mode when set: the directory, relative to the source root, that `kustomize build` renders.',
      ),
    basePath: relativePath()
      .optional()
      .describe(
        'Raw-file mode: directory, relative to the source root, searched for services. Default: the source root.',
      ),
    prefix: pattern(P.NAME_AFFIX, 'must match [A-Za-z0-9_-]+', 128)
      .optional()
      .describe('Prepended to every store name: `<prefix>-<key>-<suffix>`.'),
    suffix: pattern(P.NAME_AFFIX, 'must match [A-Za-z0-9_-]+', 128)
      .optional()
      .describe('Appended to every store name: `<prefix>-<key>-<suffix>`.'),
    sops: SopsSchema.prefault({}),
    allowPlaintext: z
      .boolean()
      .default(false)
      .describe(
        'Accept `application.secrets.env` / `application.secrets.yaml` files that are not SOPS-encrypted ' +
          '(for tests). By default such a file is refused naming it (reason SecretsNotEncrypted): a ' +
          'plaintext secret in Git has already leaked. `application.properties` is configuration and may ' +
          'always be plain.',
      ),
  }),
  [
    {
      cel: '!has(self.kustomizePath) || !has(self.basePath)',
      holds: (s) => s.kustomizePath === undefined || s.basePath === undefined,
      message: 'only used in raw-file mode; remove it or kustomizePath',
      field: ['basePath'],
      reason: 'FieldValueForbidden',
    },
  ],
).describe('What to read from the source and how to name it.');

export const CONFIG_STORES = ['SecretManager', 'ParameterManager'] as const;

export const ConfigsSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Route `application.properties` entries (and kustomize ConfigMaps) to a config store. When false, ' +
          'properties are synced as one secret `<prefix>-properties` holding a JSON object.',
      ),
    store: z
      .enum(CONFIG_STORES)
      .default('SecretManager')
      .describe('GCP: keep configs in Secret Manager, or use Parameter Manager.'),
    parameterPath: pattern(P.SSM_PATH, 'must be an SSM path such as /my-service/prod', 512)
      .optional()
      .describe('AWS: SSM Parameter Store prefix. Default: `/<prefix>/<environment>`.'),
    appConfigEndpoint: pattern(P.HTTP_URL, 'must be an http(s):// URL', 512)
      .optional()
      .describe('Azure: App Configuration endpoint, e.g. `https://<store>.azconfig.io`.'),
  })
  .describe('Where plain configuration values go.');
