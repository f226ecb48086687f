/**
 * The Firestore adapters of every data port (src/app/data.ts), on one Firestore project: the
 * counterpart of db/sql-data.ts. Every adapter reads and writes through one bill counter, so
 * `readStats()` reports billed document reads per domain (what Firestore charges), where the SQL
 * adapters report rows read, and `billed()` the reads, writes and deletes behind them.
 *
 * Each domain's adapter is built on first use (then kept): building one sends nothing, and the
 * process's own Firestore plumbing (connect, demo seed, `/health`, `/metrics`) does not depend on
 * every domain's adapter being constructible.
 */
import { createFirestoreChatData } from '../../chat/chat.firestore.ts';
import type { AppData, BilledOps } from '../../data.ts';
import { createFirestoreGuildsData } from '../../guilds/guilds.firestore.ts';
import { createFirestoreJobsData } from '../../jobs/jobs.firestore.ts';
import { createFirestoreLeaderboardsData } from '../../leaderboards/leaderboards.firestore.ts';
import { createFirestoreNotificationsData } from '../../notifications/notifications.firestore.ts';
import { createFirestoreSessionsData } from '../../sessions/sessions.firestore.ts';
import { createFirestoreUsersData } from '../../users/users.firestore.ts';
import { createFirestoreWalletsData } from '../../wallets/wallets.firestore.ts';
import type { Bill, BillLine } from './bill.ts';
import type { FirestoreConnection } from './connection.ts';
import { createFirestoreContext, type FirestoreContext } from './context.ts';

/** `factory(ctx)` on the first call, the same adapter afterwards. */
function once<T>(factory: (ctx: FirestoreContext) => T, ctx: FirestoreContext): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: factory(ctx) }).value;
}

export function createFirestoreData(conn: FirestoreConnection, ctx: FirestoreContext = createFirestoreContext(conn.firestore)): AppData & { readonly bill: Bill } {
  const users = once(createFirestoreUsersData, ctx);
  const wallets = once(createFirestoreWalletsData, ctx);
  const guilds = once(createFirestoreGuildsData, ctx);
  const jobs = once(createFirestoreJobsData, ctx);
  const chat = once(createFirestoreChatData, ctx);
  const notifications = once(createFirestoreNotificationsData, ctx);
  const leaderboards = once(createFirestoreLeaderboardsData, ctx);
  const sessions = once(createFirestoreSessionsData, ctx);
  const lines = (): Array<[string, BillLine]> => Object.entries(ctx.bill.snapshot()) as Array<[string, BillLine]>;
  return {
    kind: 'firestore',
    bill: ctx.bill,
    get users() {
      return users();
    },
    get wallets() {
      return wallets();
    },
    get guilds() {
      return guilds();
    },
    get jobs() {
      return jobs();
    },
    get chat() {
      return chat();
    },
    get notifications() {
      return notifications();
    },
    get leaderboards() {
      return leaderboards();
    },
    get sessions() {
      return sessions();
    },
    readStats: () => Object.fromEntries(lines().map(([domain, line]) => [domain, line.reads])),
    billed: (): Record<string, BilledOps> => Object.fromEntries(lines().map(([domain, line]) => [domain, { reads: line.reads, writes: line.writes, deletes: line.deletes }])),
    close: () => conn.close(),
  };
}
