#!/usr/bin/env node
// The `gatehouse` command. Sources are TypeScript, loaded through tsx.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

// Settings come from the environment; a .env file in the working directory fills in what is unset.
if (existsSync('.env')) process.loadEnvFile('.env');
register();
const { runCli } = await import('../src/cli/main.ts');
await runCli(process.argv);
