/** The store contract for GCP Secret Manager against drongo (global secrets, automatic replication). */
import { runStoreContract } from './suite.js';
import { gcpSecretManagerTarget } from './targets/gcp.js';

runStoreContract(gcpSecretManagerTarget());
