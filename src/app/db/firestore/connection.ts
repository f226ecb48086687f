/**
 * Firestore connection: `firestore://<project-id>` → a `Firestore` client on that project's
 * `(default)` database. With FIRESTORE_EMULATOR_HOST set (or `emulatorHost` given) the client
 * talks plain-text gRPC to that emulator as the owner; otherwise it authenticates with
 * Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth, or the
 * metadata server).
 */
import { Firestore, type Settings } from '@google-cloud/firestore';

// The URL grammar lives apart from the SDK, so reading the configuration does not load the
// Firestore client (about 0.7 s, paid by every CLI command otherwise); re-exported for callers here.
import { parseFirestoreUrl } from './url.ts';
export { FirestoreUrlError, isValidProjectId, parseFirestoreUrl, type FirestoreUrl, type FirestoreUrlProblem } from './url.ts';

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
