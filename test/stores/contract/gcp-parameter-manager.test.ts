/** The store contract for GCP Parameter Manager against a fake written from the API reference. */
import { runStoreContract } from './suite.js';
import { gcpParameterManagerTarget } from './targets/gcp.js';

runStoreContract(gcpParameterManagerTarget());
