/**
 * The data ports of the backend: one per domain (`<domain>/<domain>.data.ts`), each with a
 * PostgreSQL/PGlite adapter (`<domain>.sql.ts`, assembled by db/sql-data.ts). Services, warmers
 * and the health and metrics endpoints use `deps.data` only, so they do not know which
 * database they run on. This file holds types only: it imports no adapter.
 */
import type { ChatData } from './chat/chat.data.ts';
import type { GuildsData } from './guilds/guilds.data.ts';
import type { JobsData } from './jobs/jobs.data.ts';
import type { LeaderboardsData } from './leaderboards/leaderboards.data.ts';
import type { NotificationsData } from './notifications/notifications.data.ts';
import type { SessionsData } from './sessions/sessions.data.ts';
import type { UsersData } from './users/users.data.ts';
import type { WalletsData } from './wallets/wallets.data.ts';

/** What Firestore billed one domain so far: document reads, writes and deletes. */
export interface BilledOps {
  reads: number;
  writes: number;
  deletes: number;
}

export interface AppData {
  /** What `/health` shows as `database.kind`: `postgres` or `pglite` for the SQL adapters. */
  readonly kind: string;
  users: UsersData;
  wallets: WalletsData;
  guilds: GuildsData;
  jobs: JobsData;
  chat: ChatData;
  notifications: NotificationsData;
  leaderboards: LeaderboardsData;
  sessions: SessionsData;
  /**
   * Documents or rows read so far per domain label (`users`, `wallets`...; a fresh copy on
   * every call): `/health` `database.rowsRead` and the database-reads metric.
   */
  readStats(): Record<string, number>;
  /**
   * Firestore only: billed reads, writes and deletes per domain label (a fresh copy on every
   * call), for `/health` `database.billed` and the `firestore_*_total` metrics. Absent on SQL,
   * which counts rows (readStats) and has no per-operation bill.
   */
  billed?(): Record<string, BilledOps>;
  /** Closes the connection; idempotent. */
  close(): Promise<void>;
}
