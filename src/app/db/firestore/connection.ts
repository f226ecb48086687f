/**
 * Firestore connection: `firestore://<project-id>` → a `Firestore` client on that project's
 * `(default)` database. With FIRESTORE_EMULATOR_HOST set (or `emulatorHost` given) the client
 * talks plain-text gRPC to that emulator as the owner; otherwise it authenticates with
 * Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth, or the
 * metadata server).
 */
import { Firestore, type Settings } from '@google-cloud/firestore';

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

export interface FirestoreConnectionOptions {
  /** `host:port` of an emulator; default `process.env.FIRESTORE_EMULATOR_HOST`. Empty = none. */
  emulatorHost?: string;
}

export interface FirestoreConnection {
  readonly projectId: string;
  /** The emulator's `host:port`, or undefined when talking to Google with ADC. */
  readonly emulatorHost: string | undefined;
  readonly firestore: Firestore;
  /** Terminates the client (closes its channels); idempotent. */
  close(): Promise<void>;
}

/**
 * The client settings for a URL: the emulator (plain text, owner) when one is given or
 * FIRESTORE_EMULATOR_HOST is set, else none beyond the project, so the client uses ADC.
 */
export function firestoreSettings(
  url: string,
  opts: FirestoreConnectionOptions = {},
): { projectId: string; emulatorHost: string | undefined; settings: Settings } {
  const { projectId } = parseFirestoreUrl(url);
  const emulator = opts.emulatorHost ?? process.env['FIRESTORE_EMULATOR_HOST'];
  const emulatorHost = emulator === undefined || emulator === '' ? undefined : emulator;
  const settings: Settings = { projectId };
  if (emulatorHost !== undefined) {
    // The client adds `Authorization: Bearer owner` whenever ssl is false (admin on the emulator).
    // Note: FIRESTORE_EMULATOR_HOST, when set, wins over `host` inside the client.
    settings.host = emulatorHost;
    settings.ssl = false;
    // Without this, creating the gRPC stub asks Application Default Credentials for the
    // universe domain, which probes the GCE metadata server (a MetadataLookupWarning and a
    // wasted timeout on every client); the emulator needs no credentials.
    settings.clientOptions = { universeDomain: 'googleapis.com' };
  }
  return { projectId, emulatorHost, settings };
}

/** Creates the client. Nothing is sent until the first request. */
export function connectFirestore(url: string, opts: FirestoreConnectionOptions = {}): FirestoreConnection {
  const { projectId, emulatorHost, settings } = firestoreSettings(url, opts);
  const firestore = new Firestore(settings);
  let closing: Promise<void> | undefined;
  return {
    projectId,
    emulatorHost,
    firestore,
    close() {
      closing ??= firestore.terminate();
      return closing;
    },
  };
}
