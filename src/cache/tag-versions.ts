import { randomToken, type StoredEntry } from './entry.ts';
import { TAG_VERSION } from './scripts.ts';
import type { RedisConnection } from './topology/connection.ts';

/** MGET of tag version keys: on one connection, or under the store's deadline. */
export type TagVersionRead = (keys: string[]) => Promise<(string | null)[]>;

/**
 * Passed to a script in place of the tag prefix on a cluster, where the script cannot read tag
 * versions (other slots): "trust the versions recorded on the lease or the entry". Used by the
 * lease-checked write and fail-safe, whose entries every read checks against the live versions.
 */
export const TRUST_RECORDED = '\u0000*';

/**
 * The live versions of tags, for RedisStore: what a tagged entry is checked against when it is
 * read, and what a script on a cluster receives in place of the tag prefix (scripts.ts).
 */
export class TagVersions {
  constructor(readonly tagPrefix: string) {}

  /**
   * The entry if each tag version it recorded is still the tag's version; untagged entries pass
   * at once. `announced`: the versions of the caller's `tags`, read with the entry's GET; only
   * tags it did not announce cost a second round trip (`read`).
   */
  checked(entry: StoredEntry, tags: readonly string[] | undefined, announced: Promise<(string | null)[]> | undefined, read: TagVersionRead): StoredEntry | null | Promise<StoredEntry | null> {
    if (entry.tags.length === 0) return entry;
    return (async () => {
      const versions = new Map<string, string | null>();
      if (announced !== undefined && tags !== undefined) {
        const got = await announced;
        tags.forEach((t, i) => versions.set(t, got[i] ?? null));
      }
      await this.fill(read, [entry], versions);
      return tagsCurrent(entry, versions) ? entry : null;
    })();
  }

  /** Reads into `versions` those of the entries' tags it does not hold yet, in one MGET. */
  async fill(read: TagVersionRead, entries: readonly (StoredEntry | null)[], versions: Map<string, string | null>): Promise<void> {
    const missing = new Set<string>();
    for (const e of entries) if (e !== null) for (const [name] of e.tags) if (!versions.has(name)) missing.add(name);
    if (missing.size === 0) return;
    const names = Array.from(missing);
    const got = await read(names.map((n) => this.tagPrefix + n));
    names.forEach((n, i) => versions.set(n, got[i] ?? null));
  }

  /**
   * What a script receives for tags on a cluster: the versions, read (and created where missing,
   * and kept alive at least `ms`) first in their own slots, all at once. On one Redis the script
   * gets the tag prefix and reads and creates versions itself, atomically with the entry.
   */
  async scriptArg(c: RedisConnection, tags: ReadonlyMap<string, number>): Promise<string> {
    const nonce = randomToken();
    const names = Array.from(tags.keys());
    const got = await Promise.all(names.map((name, i) => c.evalScript(TAG_VERSION, [this.tagPrefix + name], [`${nonce}.${i + 1}`, String(tags.get(name))])));
    return `\u0000${names.map((n, i) => `;${n}=${String(got[i])}`).join('')}`;
  }
}

/** Whether every tag version the entry recorded is the live one in `versions`. */
export function tagsCurrent(entry: StoredEntry, versions: ReadonlyMap<string, string | null>): boolean {
  for (const [name, version] of entry.tags) if (versions.get(name) !== version) return false;
  return true;
}
