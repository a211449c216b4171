import { awsSecretsManagerTarget } from './aws-targets.js';
import { runStoreContract } from './suite.js';

runStoreContract(awsSecretsManagerTarget);
