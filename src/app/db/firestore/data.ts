/**
 * The Firestore adapters of every data port (src/app/data.ts), on one Firestore project: the
 * counterpart of db/sql-data.ts. Every adapter reads and writes through one bill counter, so
 * `readStats()` reports billed document reads per domain (what Firestore charges), where the SQL
 * adapters report rows read, and `billed()` the reads, writes and deletes behind them.
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

export function createFirestoreData(conn: FirestoreConnection, ctx: FirestoreContext = createFirestoreContext(conn.firestore)): AppData & { readonly bill: Bill } {
  const lines = (): Array<[string, BillLine]> => Object.entries(ctx.bill.snapshot()) as Array<[string, BillLine]>;
  return {
    kind: 'firestore',
    bill: ctx.bill,
    users: createFirestoreUsersData(ctx),
    wallets: createFirestoreWalletsData(ctx),
    guilds: createFirestoreGuildsData(ctx),
    jobs: createFirestoreJobsData(ctx),
    chat: createFirestoreChatData(ctx),
    notifications: createFirestoreNotificationsData(ctx),
    leaderboards: createFirestoreLeaderboardsData(ctx),
    sessions: createFirestoreSessionsData(ctx),
    readStats: () => Object.fromEntries(lines().map(([domain, line]) => [domain, line.reads])),
    billed: (): Record<string, BilledOps> => Object.fromEntries(lines().map(([domain, line]) => [domain, { reads: line.reads, writes: line.writes, deletes: line.deletes }])),
    close: () => conn.close(),
  };
}
