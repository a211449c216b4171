#!/usr/bin/env node
import { requireNodeVersion } from './node-version.js';

requireNodeVersion('secret-manager-controller');
await import('../dist/controller/entry.js');
