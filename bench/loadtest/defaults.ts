/**
 * The Firestore load test's defaults, apart from database-firestore.ts so that the CLI can name
 * them without loading the Firestore client.
 *
 * The emulator's queries scan the project (their time grows with its size whatever they return:
 * about 0.04 s at 1,000 users, 0.1 s at 10,000, 0.3 s at 20,000 on this machine, docs/firestore.md),
 * so the size of the data set and the rate go together. 100,000 users would put a query near
 * 1.5 s; 20,000 users at 3 req/s finishes both runs with no errors on two shared cores, and 5
 * minutes per run gives each about 900 requests (5 req/s timed out under load).
 */

/** `demo-` ids are the ones Google's tools treat as emulator-only projects. */
export const DEFAULT_FIRESTORE_PROJECT = 'demo-loadtest';

/** Requests per second on the emulator. */
export const FIRESTORE_DEFAULT_RATE = 3;

/** Users seeded on the emulator. */
export const FIRESTORE_DEFAULT_USERS = 20_000;

/** Each measured run (parseDuration syntax). */
export const FIRESTORE_DEFAULT_DURATION = '5m';
