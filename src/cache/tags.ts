import { InvalidTagError } from './errors.ts';

/**
 * Tags. Each tag has a version, a random token kept in its own key (`<prefix>#tag:<name>`).
 * An entry records the version of each of its tags when it was written; it is valid only while
 * every one of those keys still holds that version. `invalidateTags` overwrites the versions
 * (O(number of tags), whatever the number of keys), so no key is ever scanned. An absent version
 * key matches no recorded version, so losing one (eviction, expiry, a pattern delete) only
 * invalidates entries, never revives them. See DESIGN.md.
 */

export const MAX_TAG_LENGTH = 256;

/** The separators of the stored entry header (`;` `=` `|`), whitespace and control characters. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what we reject
const FORBIDDEN = /[;=|\s\u0000-\u001f\u007f]/;

/** Where a cache with this key prefix keeps its tag versions. */
export function tagKeyPrefix(prefix: string): string {
  return `${prefix}#tag:`;
}

export function assertTag(tag: unknown): asserts tag is string {
  if (typeof tag !== 'string' || tag.length === 0) throw new InvalidTagError('tag must be a non-empty string');
  if (tag.length > MAX_TAG_LENGTH) throw new InvalidTagError(`tag is longer than ${MAX_TAG_LENGTH} characters`);
  if (FORBIDDEN.test(tag)) throw new InvalidTagError(`tag ${JSON.stringify(tag)} contains ';', '=', '|' or whitespace`);
}

/** Validates a tag list and drops duplicates (a duplicate would be checked twice on every read). */
export function assertTags(tags: unknown): readonly string[] {
  if (!Array.isArray(tags)) throw new InvalidTagError('tags must be an array of strings');
  for (const t of tags) assertTag(t);
  return tags.length < 2 ? (tags as string[]) : Array.from(new Set(tags as string[]));
}
