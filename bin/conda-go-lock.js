#!/usr/bin/env node
import { runCliProcess } from '../dist/cli/main.js';

await runCliProcess(process.argv.slice(2));
