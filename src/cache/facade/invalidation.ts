/**
 * The facade's invalidations by tag and by pattern. Both reject with a typed error when Redis
 * fails, because their callers must know an invalidation did not happen.
 */
import { escapeGlob, prefixedKey } from '../keys.ts';
import type { PatternDeletion } from '../store.ts';
import { assertTags } from '../tags.ts';
import { ATTR, count } from '../tracing.ts';
import type { FacadeParts } from './parts.ts';
import type { Span } from '@opentelemetry/api';

export async function invalidateTagsIn(p: FacadeParts, tags: string[]): Promise<void> {
  p.assertOpen();
  const list = assertTags(tags);
  try {
    await p.store.invalidateTags(list);
    p.l1?.dropTags(list);
  } catch (err) {
    throw p.fail('invalidateTags', list[0], err);
  }
}

export async function deletePatternByNode(p: FacadeParts, pattern: string, options: { onProgress?: (deleted: number) => void }, span: Span): Promise<PatternDeletion> {
  p.assertOpen();
  const full = prefixedKey(escapeGlob(p.options.prefix), pattern);
  const onProgress = options.onProgress;
  let total = 0;
  try {
    const r = await p.store.deletePattern(
      full,
      p.options.scanBatchSize,
      onProgress === undefined
        ? undefined
        : (n) => {
            total += n;
            onProgress(total);
          },
    );
    // Rare and unbounded: this instance's L1 is emptied rather than matched key by key (the
    // others evict each deleted key as Redis reports it).
    p.l1?.tier.flush();
    p.stats.deletes += r.deleted;
    count(span, ATTR.deleted, r.deleted);
    return r;
  } catch (err) {
    throw p.fail('invalidatePattern', pattern, err);
  }
}
