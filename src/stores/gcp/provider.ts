/**
 * The GCP stores' face (src/stores/provider.ts): Secret Manager (`gcp`) and Parameter Manager
 * (`gcp-pm`), from `--store` or from an SMC's `provider.gcp` (secrets in Secret Manager; configs in
 * Parameter Manager, or Secret Manager, per `configs.store`).
 */
import { SmcError } from '../../errors.js';
import { PATTERNS as P, matches, refuseTarget, splitTarget } from '../cli-target.js';
import type { CliForm, SmcOpenContext, StoreProvider } from '../provider.js';
import { type ServiceAccountKey, parseServiceAccountKey } from './client-options.js';
import { GCP_PARAMETER_LIMITS, GCP_SECRET_LIMITS, gcpNaming, gcpParameterNaming } from './naming.js';

// The store modules (and the Google SDKs under them: module text and compiled code that stay in
// memory, docs/performance.md "Memory") are imported on first use, not at start: a controller or
// msmctl that never writes to GCP never loads them. The registry only needs this file's names.
const secretManager = () => import('./secret-manager.js');
const parameterManager = () => import('./parameter-manager.js');

/** The key of the credentials Secret holding the service account key JSON, unless `secretRef.key` says. */
export const GCP_DEFAULT_KEY = 'credentials.json';

function gcpCli(scheme: 'gcp' | 'gcp-pm', help: string): CliForm {
  return {
    scheme,
    help: [help],
    parse: (target) => {
      const { first, remainder } = splitTarget(target);
      if (!matches(P.GCP_PROJECT_ID, first)) {
        refuseTarget(
          `"${first}" is not a GCP project id (6–30 lower-case letters, digits and dashes) or number`,
        );
      }
      const global = scheme === 'gcp-pm' && remainder === 'global';
      if (remainder !== undefined && !global && !matches(P.GCP_REGION, remainder)) {
        refuseTarget(`"${remainder}" is not a GCP region (e.g. europe-west4)`);
      }
      return { projectId: first, location: remainder };
    },
    open: async (t, ctx) => {
      const options = { projectId: t.projectId!, location: t.location, environment: ctx.environment };
      return scheme === 'gcp'
        ? new (await secretManager()).GcpSecretManagerStore(options)
        : new (await parameterManager()).GcpParameterManagerStore(options);
    },
  };
}

/** The service account key named by `auth.secretRef` (`auth.type: serviceAccountKey`), if any. */
async function gcpCredentials(ctx: SmcOpenContext): Promise<ServiceAccountKey | undefined> {
  const auth = ctx.spec.provider.gcp!.auth;
  if (auth.type !== 'serviceAccountKey') return undefined;
  const ref = auth.secretRef;
  if (!ref) {
    throw new SmcError(
      'InvalidSpec',
      'spec.provider.gcp.auth.secretRef: must be set when type is serviceAccountKey',
    );
  }
  return ctx.credential(ref, 'spec.provider.gcp.auth.secretRef', auth, (data, where) => {
    const key = ref.key ?? GCP_DEFAULT_KEY;
    const raw = data[key];
    if (!raw) throw new SmcError('InvalidSpec', `${where} has no non-empty key ${key}`);
    try {
      return parseServiceAccountKey(raw);
    } catch (e) {
      // parseServiceAccountKey's messages never quote the key material.
      const why = e instanceof SmcError ? e.message : 'invalid';
      throw new SmcError('InvalidSpec', `${where} key ${key}: ${why}`);
    }
  });
}

export const gcpProvider: StoreProvider = {
  name: 'gcp',
  kinds: [
    {
      type: 'gcp',
      naming: gcpNaming,
      limits: GCP_SECRET_LIMITS,
      cli: gcpCli('gcp', 'gcp:PROJECT[/LOCATION]    GCP Secret Manager (regional with LOCATION)'),
    },
    {
      type: 'gcp-pm',
      naming: gcpParameterNaming,
      limits: GCP_PARAMETER_LIMITS,
      cli: gcpCli(
        'gcp-pm',
        'gcp-pm:PROJECT[/LOCATION] GCP Parameter Manager (configs; LOCATION default global)',
      ),
    },
  ],
  openForSmc: {
    provider: 'gcp',
    allowlist: { syntax: 'gcp/<projectId>', segments: (t) => [t.projectId] },
    async open(ctx) {
      const { spec } = ctx;
      const gcp = spec.provider.gcp!;
      ctx.allow({ provider: 'gcp', projectId: gcp.projectId }, `GCP project ${gcp.projectId}`);
      const credentials = await gcpCredentials(ctx);
      const common = {
        projectId: gcp.projectId,
        location: gcp.location,
        environment: spec.secrets.environment,
        ...(credentials ? { credentials } : {}),
        maxWritesPerSecond: ctx.maxWritesPerSecond,
        ...ctx.overrides,
      };
      // One client per API, location and credentials, shared across reconciles and SMCs.
      const client = (api: string) => ctx.clients?.(['gcp', api, gcp.location, credentials ?? 'adc']);
      const { GcpSecretManagerStore } = await secretManager();
      const sm = () =>
        new GcpSecretManagerStore({
          ...common,
          observer: ctx.observer('gcp'),
          client: client('secretmanager'),
        });
      const secretStore = sm();
      if (!spec.configs.enabled) return { secretStore };
      const configStore =
        spec.configs.store === 'ParameterManager'
          ? new (await parameterManager()).GcpParameterManagerStore({
              ...common,
              observer: ctx.observer('gcp-pm'),
              client: client('parametermanager'),
            })
          : sm();
      return { secretStore, configStore };
    },
  },
};
