/**
 * The store contract for regional GCP Secret Manager secrets: the store speaks the regional REST
 * paths (`projects/P/locations/L/secrets`); drongo has no regional secrets, so a small proxy (a fake
 * layer, see targets/gcp.ts) maps them onto drongo's global ones.
 */
import { runStoreContract } from './suite.js';
import { gcpSecretManagerTarget } from './targets/gcp.js';

runStoreContract(gcpSecretManagerTarget({ location: 'europe-west4' }));
