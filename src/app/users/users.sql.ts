/** The PostgreSQL/PGlite adapter of the users port (users.data.ts). */
import type { Database, DbTx } from '../db/database.ts';
import type { Profile, ProfilePatch, UsersData } from './users.data.ts';

const Q = { domain: 'users' } as const;

interface ProfileRow {
  id: number;
  display_name: string;
  bio: string;
  avatar_url: string | null;
  created_at: Date;
  updated_at: Date;
}

const toProfile = (r: ProfileRow): Profile => ({
  id: r.id,
  displayName: r.display_name,
  bio: r.bio,
  avatarUrl: r.avatar_url,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

async function findProfile(db: DbTx, id: number): Promise<Profile | undefined> {
  const { rows } = await db.query<ProfileRow>('SELECT id, display_name, bio, avatar_url, created_at, updated_at FROM users WHERE id = $1', [id], Q);
  const row = rows[0];
  return row === undefined ? undefined : toProfile(row);
}

/** Applies the patch; returns the new profile and the display name before it, or undefined for an unknown id. */
async function updateProfile(db: DbTx, id: number, patch: ProfilePatch): Promise<{ profile: Profile; previousDisplayName: string } | undefined> {
  // The FROM sub-select locks the row and reads the values before the update.
  const { rows } = await db.query<ProfileRow & { previous_display_name: string }>(
    `UPDATE users u
        SET display_name = COALESCE($2::text, u.display_name),
            bio = COALESCE($3::text, u.bio),
            avatar_url = CASE WHEN $4::boolean THEN $5::text ELSE u.avatar_url END,
            updated_at = now()
       FROM (SELECT id, display_name FROM users WHERE id = $1 FOR UPDATE) old
      WHERE u.id = old.id
      RETURNING u.id, u.display_name, u.bio, u.avatar_url, u.created_at, u.updated_at, old.display_name AS previous_display_name`,
    [id, patch.displayName ?? null, patch.bio ?? null, patch.avatarUrl !== undefined, patch.avatarUrl ?? null],
    Q,
  );
  const row = rows[0];
  return row === undefined ? undefined : { profile: toProfile(row), previousDisplayName: row.previous_display_name };
}

export function createSqlUsersData(db: Database): UsersData {
  return {
    findProfile: (id) => findProfile(db, id),
    updateProfile: (id, patch) => updateProfile(db, id, patch),
  };
}
