/**
 * One page of a newest-first listing, as the data ports return it. Routes and cache keys
 * number pages from 1; how an adapter reaches page N (OFFSET in SQL, a cursor in Firestore)
 * is its own business, so the ports take the page number, never an offset.
 */
export interface Page<T> {
  items: T[];
  /** True when at least one more item follows this page. */
  hasMore: boolean;
}

/** Splits `pageSize + 1` rows (the extra one only says a page follows) into a Page. */
export function toPage<T>(rows: readonly T[], pageSize: number): Page<T> {
  return { items: rows.slice(0, pageSize), hasMore: rows.length > pageSize };
}
