/** `spec.sourceRef`: the Flux source or Argo CD Application the secrets are read from. */
import { z } from 'zod';
import { withRules } from '../rules.js';
import { namespaceName, objectName, objectRef } from './fields.js';

export const SOURCE_KINDS = ['GitRepository', 'OCIRepository', 'Bucket', 'Application'] as const;
/** Source kinds served by Flux (anything with `status.artifact`); `Application` is Argo CD. */
export const FLUX_SOURCE_KINDS = ['GitRepository', 'OCIRepository', 'Bucket'] as const;

export const SourceRefSchema = withRules(
  z.strictObject({
    kind: z
      .enum(SOURCE_KINDS)
      .default('GitRepository')
      .describe(
        'Kind of the source: a Flux source (GitRepository, OCIRepository, Bucket — any source with ' +
          '`status.artifact`) or an Argo CD Application.',
      ),
    name: objectName().describe('Name of the Flux source or Argo CD Application.'),
    namespace: namespaceName()
      .optional()
      .describe("Namespace of the source. Default: the SecretManagerConfig's namespace."),
    gitCredentials: objectRef('Secret', "the SecretManagerConfig's namespace")
      .optional()
      .describe(
        "Application only: Secret with Git credentials for fetching the Application's repository — " +
          '`username` + `password`, `token`, or `sshPrivateKey` (with optional `known_hosts`). ' +
          "When absent, Argo CD's own repository Secrets (label `argocd.argoproj.io/secret-type=repository`) are used.",
      ),
  }),
  [
    {
      cel: "!has(self.gitCredentials) || self.kind == 'Application'",
      holds: (s) => s.gitCredentials === undefined || s.kind === 'Application',
      message: 'only allowed when kind is Application (Flux sources carry their own credentials)',
      field: ['gitCredentials'],
      reason: 'FieldValueForbidden',
    },
  ],
).describe('The GitOps source the secrets are read from.');
