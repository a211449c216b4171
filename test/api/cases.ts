/**
 * Specs shared by the API tests: valid examples (one per provider and then some) and invalid ones,
 * each with the field path(s) both zod and the apiserver must name.
 */
import type { SecretManagerConfigSpecInput } from '../../src/api/index.js';

const source = { name: 'platform-config', namespace: 'flux-system' };
const secrets = { environment: 'prod' };

export const VALID_SPECS: Record<string, SecretManagerConfigSpecInput> = {
  'gcp minimal': { sourceRef: source, provider: { gcp: { projectId: 'my-project' } }, secrets },
  'gcp regional, key file, Parameter Manager': {
    sourceRef: { kind: 'OCIRepository', name: 'config' },
    provider: {
      gcp: {
        projectId: 'my-project-123',
        location: 'europe-west4',
        auth: { type: 'serviceAccountKey', secretRef: { name: 'gcp-sa', key: 'sa.json' } },
      },
    },
    secrets: { environment: 'prod_eu', prefix: 'payments', suffix: 'v2', basePath: 'services/' },
    configs: { enabled: true, store: 'ParameterManager' },
  },
  'aws minimal': { sourceRef: source, provider: { aws: { region: 'eu-central-1' } }, secrets },
  'aws access keys and SSM': {
    sourceRef: { kind: 'Bucket', name: 'bucket' },
    provider: {
      aws: { region: 'us-gov-west-1', auth: { type: 'accessKeys', secretRef: { name: 'aws-keys' } } },
    },
    secrets: { environment: 'Staging.EU' },
    configs: { enabled: true, parameterPath: '/payments/staging' },
  },
  'aws assume role': {
    sourceRef: source,
    provider: {
      aws: {
        region: 'cn-north-1',
        auth: {
          type: 'assumeRole',
          roleArn: 'arn:aws-cn:iam::123456789012:role/smc/writer',
          secretRef: { name: 'base' },
        },
      },
    },
    secrets,
  },
  'azure vault url': {
    sourceRef: source,
    provider: { azure: { vaultUrl: 'https://my-vault.vault.azure.net/' } },
    secrets: { environment: 'dev', kustomizePath: './overlays/dev' },
    configs: { enabled: true, appConfigEndpoint: 'https://my-store.azconfig.io' },
  },
  'azure emulator url': {
    sourceRef: source,
    provider: { azure: { vaultUrl: 'https://localhost:8443', auth: { type: 'managedIdentity' } } },
    secrets,
  },
  'azure vault name, service principal': {
    sourceRef: source,
    provider: {
      azure: {
        vaultName: 'kv-prod-01',
        auth: {
          type: 'servicePrincipal',
          clientId: '00000000-1111-2222-3333-444444444444',
          tenantId: 'contoso.onmicrosoft.com',
          secretRef: { name: 'azure-sp' },
        },
      },
    },
    secrets,
  },
  'kubernetes empty': { sourceRef: source, provider: { kubernetes: {} }, secrets },
  'kubernetes with labels': {
    sourceRef: source,
    provider: {
      kubernetes: {
        secretName: 'app-secrets',
        labels: { team: 'payments' },
        annotations: { 'example.com/x': 'y' },
      },
    },
    secrets,
  },
  'argo application, everything set': {
    sourceRef: {
      kind: 'Application',
      name: 'payments',
      namespace: 'argocd',
      gitCredentials: { name: 'repo-creds' },
    },
    provider: { gcp: { projectId: 'example.com:my-project' } },
    secrets: {
      environment: 'prod',
      sops: {
        enabled: true,
        ageSecretRef: { name: 'sops-age', namespace: 'octopilot-system' },
        gpgSecretRef: { name: 'sops-gpg', key: 'team.asc' },
      },
    },
    reconcileInterval: '1h30m',
    gitRepositoryPullInterval: '2m30s',
    diffDiscovery: true,
    driftPolicy: 'Correct',
    triggerUpdate: false,
    deletionPolicy: 'Disable',
    suspend: false,
    suspendGitPulls: true,
    logging: { reconciliation: 'INFO', secrets: 'WARN', sops: 'DEBUG', diffDiscovery: 'ERROR' },
    otel: { exporter: 'datadog', endpoint: 'http://datadog-agent:8126', serviceName: 'smc payments' },
    notifications: {
      fluxcd: { providerRef: { name: 'slack' } },
      argocd: {
        subscriptions: [{ service: 'slack', channel: 'payments-alerts', trigger: 'on-sync-failed' }],
      },
    },
    hotReload: {
      enabled: true,
      configMapName: 'secret-manager-controller-config',
      configMapNamespace: 'octopilot-system',
      workloads: 'auto',
    },
  },
};

const gcp = { gcp: { projectId: 'my-project' } };

export interface InvalidCase {
  name: string;
  spec: unknown;
  /** Field paths the refusal must name (zod and apiserver alike). */
  paths: string[];
  /** Only zod refuses it (the apiserver prunes unknown fields instead of refusing them). */
  zodOnly?: boolean;
}

export const INVALID_SPECS: InvalidCase[] = [
  { name: 'no provider', spec: { sourceRef: source, provider: {}, secrets }, paths: ['spec.provider'] },
  {
    name: 'two providers',
    spec: { sourceRef: source, provider: { ...gcp, kubernetes: {} }, secrets },
    paths: ['spec.provider'],
  },
  {
    name: 'gcp without projectId',
    spec: { sourceRef: source, provider: { gcp: {} }, secrets },
    paths: ['spec.provider.gcp.projectId'],
  },
  {
    name: 'missing environment',
    spec: { sourceRef: source, provider: gcp, secrets: {} },
    paths: ['spec.secrets.environment'],
  },
  {
    name: 'unknown source kind',
    spec: { sourceRef: { kind: 'HelmRepository', name: 'x' }, provider: gcp, secrets },
    paths: ['spec.sourceRef.kind'],
  },
  {
    name: 'gitCredentials with a Flux source',
    spec: { sourceRef: { ...source, gitCredentials: { name: 'creds' } }, provider: gcp, secrets },
    paths: ['spec.sourceRef.gitCredentials'],
  },
  {
    name: 'git pull interval below 1m',
    spec: { sourceRef: source, provider: gcp, secrets, gitRepositoryPullInterval: '59s' },
    paths: ['spec.gitRepositoryPullInterval'],
  },
  {
    name: 'unknown workload reload mode',
    spec: { sourceRef: source, provider: { kubernetes: {} }, secrets, hotReload: { workloads: 'always' } },
    paths: ['spec.hotReload.workloads'],
  },
  {
    name: 'zero reconcile interval',
    spec: { sourceRef: source, provider: gcp, secrets, reconcileInterval: '0s' },
    paths: ['spec.reconcileInterval'],
  },
  {
    name: 'days are not a Go duration',
    spec: { sourceRef: source, provider: gcp, secrets, reconcileInterval: '1d' },
    paths: ['spec.reconcileInterval'],
  },
  {
    name: 'duration beyond what Go can hold',
    spec: { sourceRef: source, provider: gcp, secrets, reconcileInterval: '9999999999h' },
    paths: ['spec.reconcileInterval'],
  },
  {
    name: 'Correct without diffDiscovery',
    spec: { sourceRef: source, provider: gcp, secrets, driftPolicy: 'Correct' },
    paths: ['spec.driftPolicy'],
  },
  {
    name: 'gcp serviceAccountKey without secretRef',
    spec: {
      sourceRef: source,
      provider: { gcp: { projectId: 'my-project', auth: { type: 'serviceAccountKey' } } },
      secrets,
    },
    paths: ['spec.provider.gcp.auth.secretRef'],
  },
  {
    name: 'gcp workloadIdentity with secretRef',
    spec: {
      sourceRef: source,
      provider: { gcp: { projectId: 'my-project', auth: { secretRef: { name: 'k' } } } },
      secrets,
    },
    paths: ['spec.provider.gcp.auth.secretRef'],
  },
  {
    name: 'aws accessKeys without secretRef',
    spec: {
      sourceRef: source,
      provider: { aws: { region: 'eu-west-1', auth: { type: 'accessKeys' } } },
      secrets,
    },
    paths: ['spec.provider.aws.auth.secretRef'],
  },
  {
    name: 'aws assumeRole without roleArn',
    spec: {
      sourceRef: source,
      provider: { aws: { region: 'eu-west-1', auth: { type: 'assumeRole' } } },
      secrets,
    },
    paths: ['spec.provider.aws.auth.roleArn'],
  },
  {
    name: 'aws roleArn without assumeRole',
    spec: {
      sourceRef: source,
      provider: { aws: { region: 'eu-west-1', auth: { roleArn: 'arn:aws:iam::123456789012:role/x' } } },
      secrets,
    },
    paths: ['spec.provider.aws.auth.roleArn'],
  },
  {
    name: 'azure with vaultUrl and vaultName',
    spec: {
      sourceRef: source,
      provider: { azure: { vaultUrl: 'https://a.vault.azure.net/', vaultName: 'abc' } },
      secrets,
    },
    paths: ['spec.provider.azure'],
  },
  {
    name: 'azure without a vault',
    spec: { sourceRef: source, provider: { azure: {} }, secrets },
    paths: ['spec.provider.azure'],
  },
  {
    name: 'azure http vault URL',
    spec: { sourceRef: source, provider: { azure: { vaultUrl: 'http://a.vault.azure.net/' } }, secrets },
    paths: ['spec.provider.azure.vaultUrl'],
  },
  {
    name: 'azure vault name with --',
    spec: { sourceRef: source, provider: { azure: { vaultName: 'my--vault' } }, secrets },
    paths: ['spec.provider.azure.vaultName'],
  },
  {
    name: 'azure servicePrincipal without its fields',
    spec: {
      sourceRef: source,
      provider: { azure: { vaultName: 'abc', auth: { type: 'servicePrincipal' } } },
      secrets,
    },
    paths: [
      'spec.provider.azure.auth.secretRef',
      'spec.provider.azure.auth.clientId',
      'spec.provider.azure.auth.tenantId',
    ],
  },
  {
    name: 'azure managedIdentity with secretRef',
    spec: {
      sourceRef: source,
      provider: { azure: { vaultName: 'abc', auth: { type: 'managedIdentity', secretRef: { name: 's' } } } },
      secrets,
    },
    paths: ['spec.provider.azure.auth.secretRef'],
  },
  {
    name: 'environment is not a label value',
    spec: {
      sourceRef: source,
      provider: { aws: { region: 'eu-west-1' } },
      secrets: { environment: 'prod/eu' },
    },
    paths: ['spec.secrets.environment'],
  },
  {
    name: 'environment is not a GCP label value',
    spec: { sourceRef: source, provider: gcp, secrets: { environment: 'Prod' } },
    paths: ['spec.secrets.environment'],
  },
  {
    name: 'prefix with a dot',
    spec: { sourceRef: source, provider: gcp, secrets: { environment: 'prod', prefix: 'a.b' } },
    paths: ['spec.secrets.prefix'],
  },
  {
    name: 'basePath escaping the source',
    spec: { sourceRef: source, provider: gcp, secrets: { environment: 'prod', basePath: 'a/../../etc' } },
    paths: ['spec.secrets.basePath'],
  },
  {
    name: 'absolute kustomizePath',
    spec: { sourceRef: source, provider: gcp, secrets: { environment: 'prod', kustomizePath: '/etc' } },
    paths: ['spec.secrets.kustomizePath'],
  },
  {
    name: 'kustomizePath and basePath',
    spec: {
      sourceRef: source,
      provider: gcp,
      secrets: { environment: 'prod', kustomizePath: 'k', basePath: 'b' },
    },
    paths: ['spec.secrets.basePath'],
  },
  {
    name: 'relative parameterPath',
    spec: {
      sourceRef: source,
      provider: { aws: { region: 'eu-west-1' } },
      secrets,
      configs: { parameterPath: 'a/b' },
    },
    paths: ['spec.configs.parameterPath'],
  },
  {
    name: 'parameterPath with gcp',
    spec: { sourceRef: source, provider: gcp, secrets, configs: { parameterPath: '/a/b' } },
    paths: ['spec.configs.parameterPath'],
  },
  {
    name: 'ParameterManager with aws',
    spec: {
      sourceRef: source,
      provider: { aws: { region: 'eu-west-1' } },
      secrets,
      configs: { store: 'ParameterManager' },
    },
    paths: ['spec.configs.store'],
  },
  {
    name: 'appConfigEndpoint with gcp',
    spec: {
      sourceRef: source,
      provider: gcp,
      secrets,
      configs: { appConfigEndpoint: 'https://x.azconfig.io' },
    },
    paths: ['spec.configs.appConfigEndpoint'],
  },
  {
    name: 'argocd notifications with a Flux source',
    spec: {
      sourceRef: source,
      provider: gcp,
      secrets,
      notifications: { argocd: { subscriptions: [{ service: 'slack', channel: 'c', trigger: 'on-x' }] } },
    },
    paths: ['spec.notifications.argocd'],
  },
  {
    name: 'bad log level',
    spec: { sourceRef: source, provider: gcp, secrets, logging: { sops: 'TRACE' } },
    paths: ['spec.logging.sops'],
  },
  {
    name: 'unknown field',
    spec: { sourceRef: source, provider: gcp, secrets, reconcileIntervall: '1m' },
    paths: ['spec.reconcileIntervall'],
    zodOnly: true,
  },
];
