/** The port of the users domain: public profiles. The SQL adapter is users.sql.ts. */

/** The public profile: what anybody signed in may read (no email, no password hash). */
export interface Profile {
  id: number;
  displayName: string;
  bio: string;
  avatarUrl: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ProfilePatch {
  displayName?: string;
  bio?: string;
  /** null clears the avatar; undefined leaves it. */
  avatarUrl?: string | null;
}

export interface UsersData {
  findProfile(id: number): Promise<Profile | undefined>;
  /**
   * Applies the (already validated) patch atomically and sets updatedAt; returns the new
   * profile and the display name before it (the service invalidates the lists that show the
   * name when it changed), or undefined for an unknown id.
   */
  updateProfile(id: number, patch: ProfilePatch): Promise<{ profile: Profile; previousDisplayName: string } | undefined>;
}
