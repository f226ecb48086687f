#!/usr/bin/env node
// The package's `bin`. The CLI is TypeScript run through tsx (a dependency), as `npm start` runs
// the server: register tsx's loader in this process, then load the entry (src/cli/main.ts).
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
await runCli();
