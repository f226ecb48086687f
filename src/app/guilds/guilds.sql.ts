/** The PostgreSQL/PGlite adapter of the guilds port (guilds.data.ts). */
import type { Database, DbTx } from '../db/database.ts';
import { NotFoundError } from '../http/errors.ts';
import type { Guild, GuildMember, GuildsData } from './guilds.data.ts';
import { alreadyMember, assertMayRemove, JOIN_ROLE } from './guilds.rules.ts';

const Q = { domain: 'guilds' } as const;

interface GuildRow {
  id: number;
  name: string;
  description: string;
  owner_id: number;
  member_count: number;
  activity_score: number;
  created_at: Date;
}

interface MemberRow {
  guild_id: number;
  user_id: number;
  display_name: string;
  role: GuildMember['role'];
  joined_at: Date;
}

const GUILD_COLUMNS = 'id, name, description, owner_id, member_count, activity_score, created_at';

const toGuild = (r: GuildRow): Guild => ({
  id: r.id,
  name: r.name,
  description: r.description,
  ownerId: r.owner_id,
  memberCount: r.member_count,
  activityScore: r.activity_score,
  createdAt: r.created_at.toISOString(),
});

const toMember = (r: MemberRow): GuildMember => ({ userId: r.user_id, displayName: r.display_name, role: r.role, joinedAt: r.joined_at.toISOString() });

async function findGuild(db: DbTx, id: number): Promise<Guild | undefined> {
  const { rows } = await db.query<GuildRow>(`SELECT ${GUILD_COLUMNS} FROM guilds WHERE id = $1`, [id], Q);
  const row = rows[0];
  return row === undefined ? undefined : toGuild(row);
}

/** The members (oldest first, at most `limit`), or undefined when the guild does not exist. */
async function findMembers(db: DbTx, guildId: number, limit: number): Promise<GuildMember[] | undefined> {
  // The guild is the outer side, so an existing guild without members still returns one row.
  const { rows } = await db.query<{ guild_id: number; user_id: number | null } & Omit<MemberRow, 'user_id'>>(
    `SELECT g.id AS guild_id, m.user_id, u.display_name, m.role, m.joined_at
       FROM guilds g
       LEFT JOIN guild_members m ON m.guild_id = g.id
       LEFT JOIN users u ON u.id = m.user_id
      WHERE g.id = $1
      ORDER BY m.joined_at, m.user_id
      LIMIT $2`,
    [guildId, limit],
    Q,
  );
  if (rows.length === 0) return undefined;
  return rows.flatMap((r) => (r.user_id === null ? [] : [toMember({ ...r, user_id: r.user_id })]));
}

/** Guilds the user belongs to (its display name shows in their member lists). */
async function guildIdsOfUser(db: DbTx, userId: number): Promise<number[]> {
  const { rows } = await db.query<{ guild_id: number }>('SELECT guild_id FROM guild_members WHERE user_id = $1', [userId], Q);
  return rows.map((r) => r.guild_id);
}

/** Locks the guild row for a membership change; undefined when it does not exist. */
async function lockGuild(tx: DbTx, id: number): Promise<{ ownerId: number } | undefined> {
  const { rows } = await tx.query<{ owner_id: number }>('SELECT owner_id FROM guilds WHERE id = $1 FOR UPDATE', [id], Q);
  const row = rows[0];
  return row === undefined ? undefined : { ownerId: row.owner_id };
}

/** Adds a plain member; undefined when the user already belongs to the guild. */
async function insertMember(tx: DbTx, guildId: number, userId: number): Promise<GuildMember | undefined> {
  const { rows } = await tx.query<MemberRow>(
    `WITH ins AS (
       INSERT INTO guild_members (guild_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (guild_id, user_id) DO NOTHING
       RETURNING guild_id, user_id, role, joined_at
     )
     SELECT ins.guild_id, ins.user_id, u.display_name, ins.role, ins.joined_at FROM ins JOIN users u ON u.id = ins.user_id`,
    [guildId, userId, JOIN_ROLE],
    Q,
  );
  const row = rows[0];
  return row === undefined ? undefined : toMember(row);
}

/** Removes a member; false when the user was not one. */
async function deleteMember(tx: DbTx, guildId: number, userId: number): Promise<boolean> {
  const { rowCount } = await tx.query('DELETE FROM guild_members WHERE guild_id = $1 AND user_id = $2', [guildId, userId], Q);
  return rowCount > 0;
}

async function addToMemberCount(tx: DbTx, guildId: number, delta: 1 | -1): Promise<void> {
  await tx.query('UPDATE guilds SET member_count = member_count + $2 WHERE id = $1', [guildId, delta], Q);
}

/** The most active guilds (for cache warming). */
async function topGuilds(db: DbTx, limit: number): Promise<Guild[]> {
  const { rows } = await db.query<GuildRow>(`SELECT ${GUILD_COLUMNS} FROM guilds ORDER BY activity_score DESC, id LIMIT $1`, [limit], Q);
  return rows.map(toGuild);
}

/** Members of several guilds in one query (for cache warming), at most `perGuild` each. */
async function membersOfGuilds(db: DbTx, guildIds: readonly number[], perGuild: number): Promise<Map<number, GuildMember[]>> {
  const { rows } = await db.query<MemberRow>(
    `SELECT guild_id, user_id, display_name, role, joined_at FROM (
       SELECT m.guild_id, m.user_id, u.display_name, m.role, m.joined_at,
              row_number() OVER (PARTITION BY m.guild_id ORDER BY m.joined_at, m.user_id) AS n
         FROM guild_members m JOIN users u ON u.id = m.user_id
        WHERE m.guild_id = ANY($1::bigint[])
     ) s WHERE n <= $2
     ORDER BY guild_id, joined_at, user_id`,
    [guildIds, perGuild],
    Q,
  );
  const out = new Map<number, GuildMember[]>(guildIds.map((id) => [id, []]));
  for (const r of rows) out.get(r.guild_id)?.push(toMember(r));
  return out;
}

export function createSqlGuildsData(db: Database): GuildsData {
  return {
    findGuild: (id) => findGuild(db, id),
    findMembers: (guildId, limit) => findMembers(db, guildId, limit),
    guildIdsOfUser: (userId) => guildIdsOfUser(db, userId),
    join: (guildId, userId) =>
      db.transaction(async (tx) => {
        if ((await lockGuild(tx, guildId)) === undefined) throw new NotFoundError('Guild');
        const inserted = await insertMember(tx, guildId, userId);
        if (inserted === undefined) throw alreadyMember();
        await addToMemberCount(tx, guildId, 1);
        return inserted;
      }),
    removeMember: (actorId, guildId, userId) =>
      db.transaction(async (tx) => {
        assertMayRemove(await lockGuild(tx, guildId), actorId, userId);
        if (!(await deleteMember(tx, guildId, userId))) throw new NotFoundError('Member');
        await addToMemberCount(tx, guildId, -1);
      }),
    topGuilds: (limit) => topGuilds(db, limit),
    membersOfGuilds: (guildIds, perGuild) => membersOfGuilds(db, guildIds, perGuild),
  };
}
