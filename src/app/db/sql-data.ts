/** The SQL adapters of every data port (src/app/data.ts), on one PostgreSQL/PGlite database. */
import { createSqlChatData } from '../chat/chat.sql.ts';
import type { AppData } from '../data.ts';
import { createSqlGuildsData } from '../guilds/guilds.sql.ts';
import { createSqlJobsData } from '../jobs/jobs.sql.ts';
import { createSqlLeaderboardsData } from '../leaderboards/leaderboards.sql.ts';
import { createSqlNotificationsData } from '../notifications/notifications.sql.ts';
import { createSqlSessionsData } from '../sessions/sessions.sql.ts';
import { createSqlUsersData } from '../users/users.sql.ts';
import { createSqlWalletsData } from '../wallets/wallets.sql.ts';
import type { Database } from './database.ts';

export function createSqlData(db: Database): AppData {
  return {
    kind: db.kind,
    users: createSqlUsersData(db),
    wallets: createSqlWalletsData(db),
    guilds: createSqlGuildsData(db),
    jobs: createSqlJobsData(db),
    chat: createSqlChatData(db),
    notifications: createSqlNotificationsData(db),
    leaderboards: createSqlLeaderboardsData(db),
    sessions: createSqlSessionsData(db),
    readStats: () => db.readStats(),
    close: () => db.close(),
  };
}
