/** The whole SecretManagerConfig object: apiVersion, kind, metadata, spec and status. */
import { z } from 'zod';
import { API_VERSION, KIND } from '../constants.js';
import { SpecSchema } from './spec.js';
import { StatusSchema } from './status.js';

const ObjectMetaSchema = z.looseObject({
  name: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});

export const SecretManagerConfigSchema = z
  .object({
    apiVersion: z.literal(API_VERSION).describe('APIVersion of this object.'),
    kind: z.literal(KIND).describe('Kind of this object.'),
    metadata: ObjectMetaSchema.describe('Standard object metadata.'),
    spec: SpecSchema,
    status: StatusSchema.optional(),
  })
  .describe(
    'SecretManagerConfig syncs SOPS-encrypted secrets from a Flux source or Argo CD Application to a ' +
      'cloud secret store (GCP, AWS, Azure) or a Kubernetes Secret.',
  );
