/** Registers every domain's routes. */
import type { App } from './app.ts';
import type { AppDeps } from './deps.ts';

export async function registerDomains(_app: App, _deps: AppDeps): Promise<void> {
  // Domains register here (users, guilds, jobs, wallets, chat, notifications, leaderboards, sessions).
}
