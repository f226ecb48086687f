/**
 * `firestore://<project-id>`: the URL grammar alone, without the Firestore SDK (config.ts reads
 * it at start-up whatever the database; connection.ts re-exports it).
 */

/** Why a Firestore URL was refused. */
export type FirestoreUrlProblem = 'scheme' | 'project_id' | 'extra_parts';

/**
 * A `firestore://` URL that cannot be used. Code `E_FIRESTORE_URL`; `problem` says which part is
 * wrong. The message never repeats a URL of another scheme, which may hold a password.
 */
export class FirestoreUrlError extends Error {
  readonly code = 'E_FIRESTORE_URL';
  constructor(
    message: string,
    readonly problem: FirestoreUrlProblem,
  ) {
    super(message);
    this.name = 'FirestoreUrlError';
  }
}

export interface FirestoreUrl {
  projectId: string;
}

/**
 * Google's project id rules: 6 to 30 characters, lowercase ASCII letters, digits and hyphens,
 * starting with a letter and not ending with a hyphen. (Legacy domain-scoped ids such as
 * `example.com:proj` are not accepted.)
 */
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

export function isValidProjectId(id: string): boolean {
  return PROJECT_ID.test(id);
}

/** Parses `firestore://<project-id>` (a trailing `/` is allowed; nothing else is). */
export function parseFirestoreUrl(url: string): FirestoreUrl {
  const prefix = 'firestore://';
  if (!url.startsWith(prefix)) throw new FirestoreUrlError('a Firestore URL must start with firestore://', 'scheme');
  let rest = url.slice(prefix.length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  const extra = rest.search(/[/?#@]/);
  if (extra !== -1) {
    throw new FirestoreUrlError(
      `a Firestore URL is firestore://<project-id> and nothing more (no user, path, query or fragment), got ${JSON.stringify(url)}`,
      'extra_parts',
    );
  }
  if (!isValidProjectId(rest)) {
    throw new FirestoreUrlError(
      `invalid Google Cloud project id ${JSON.stringify(rest)}: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen`,
      'project_id',
    );
  }
  return { projectId: rest };
}
