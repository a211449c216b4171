#!/usr/bin/env node
import '../dist/controller/entry.js';
