/**
 * firestore://<project-id> parsing (no emulator needed) and the client it creates, against the
 * official emulator (one per file, a fresh project per test).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectFirestore,
  firestoreSettings,
  FirestoreUrlError,
  isValidProjectId,
  parseFirestoreUrl,
  type FirestoreConnection,
} from '../../../../src/app/db/firestore/connection.ts';
import { describeFirestore, startFirestoreEmulator, type TestFirestoreEmulator } from '../../../helpers/firestore-emulator.ts';

function refusal(url: string): FirestoreUrlError {
  try {
    parseFirestoreUrl(url);
  } catch (err) {
    if (err instanceof FirestoreUrlError) return err;
    throw err;
  }
  throw new Error(`${url} was accepted`);
}

describe('parseFirestoreUrl', () => {
  it('accepts firestore://<project-id>, with or without a trailing slash', () => {
    expect(parseFirestoreUrl('firestore://my-project-42')).toEqual({ projectId: 'my-project-42' });
    expect(parseFirestoreUrl('firestore://abcdef/')).toEqual({ projectId: 'abcdef' });
    expect(parseFirestoreUrl(`firestore://a${'b'.repeat(29)}`)).toEqual({ projectId: `a${'b'.repeat(29)}` });
  });

  it.each([
    ['too short (5)', 'abcde'],
    ['too long (31)', `a${'b'.repeat(30)}`],
    ['uppercase', 'My-project'],
    ['starts with a digit', '1project'],
    ['starts with a hyphen', '-project'],
    ['ends with a hyphen', 'project-'],
    ['underscore', 'my_project'],
    ['dot (domain-scoped ids are not supported)', 'example.com'],
    ['colon', 'example:proj'],
    ['empty', ''],
  ])('refuses a project id that is %s with E_FIRESTORE_URL / project_id', (_what, id) => {
    expect(isValidProjectId(id)).toBe(false);
    const err = refusal(`firestore://${id}`);
    expect(err.code).toBe('E_FIRESTORE_URL');
    expect(err.problem).toBe('project_id');
    expect(err.name).toBe('FirestoreUrlError');
    expect(err.message).toContain('6-30 characters');
  });

  it.each(['firestore://proj-one/db', 'firestore://proj-one?x=1', 'firestore://proj-one#f', 'firestore://user@proj-one'])(
    'refuses extra parts: %s',
    (url) => {
      const err = refusal(url);
      expect(err.code).toBe('E_FIRESTORE_URL');
      expect(err.problem).toBe('extra_parts');
    },
  );

  it('refuses other schemes without echoing the URL (it may hold a password)', () => {
    const err = refusal('postgres://admin:s3cret@db/app');
    expect(err.code).toBe('E_FIRESTORE_URL');
    expect(err.problem).toBe('scheme');
    expect(err.message).not.toContain('s3cret');
    expect(refusal('Firestore://my-project').problem).toBe('scheme');
    expect(refusal('my-project').problem).toBe('scheme');
  });

  it('connectFirestore validates before creating a client', () => {
    expect(() => connectFirestore('firestore://BAD')).toThrow(FirestoreUrlError);
  });

  it('without an emulator host the settings leave the client to Application Default Credentials', () => {
    const saved = process.env['FIRESTORE_EMULATOR_HOST'];
    delete process.env['FIRESTORE_EMULATOR_HOST'];
    try {
      // No client is created here: an ADC client probes the GCE metadata server.
      expect(firestoreSettings('firestore://my-project-42')).toEqual({
        projectId: 'my-project-42',
        emulatorHost: undefined,
        settings: { projectId: 'my-project-42' },
      });
      expect(firestoreSettings('firestore://my-project-42', { emulatorHost: '' }).emulatorHost).toBeUndefined();
      expect(firestoreSettings('firestore://my-project-42', { emulatorHost: '127.0.0.1:9' })).toEqual({
        projectId: 'my-project-42',
        settings: { projectId: 'my-project-42', host: '127.0.0.1:9', ssl: false, clientOptions: { universeDomain: 'googleapis.com' } },
        emulatorHost: '127.0.0.1:9',
      });
    } finally {
      if (saved !== undefined) process.env['FIRESTORE_EMULATOR_HOST'] = saved;
    }
  });
});

describeFirestore('connectFirestore against the emulator', () => {
  let emu: TestFirestoreEmulator;
  let conn: FirestoreConnection | undefined;

  beforeAll(async () => {
    emu = await startFirestoreEmulator();
  });
  afterAll(async () => {
    await emu?.stop();
  });
  afterEach(async () => {
    await conn?.close();
    conn = undefined;
  });

  it('writes and reads a document on the emulator given by emulatorHost', async () => {
    const projectId = emu.projectId();
    conn = connectFirestore(`firestore://${projectId}`, { emulatorHost: emu.hostPort });
    expect(conn.emulatorHost).toBe(emu.hostPort);
    const ref = conn.firestore.collection('things').doc('a');
    await ref.set({ n: 1 });
    expect((await ref.get()).data()).toEqual({ n: 1 });
  });

  it('uses FIRESTORE_EMULATOR_HOST when no host is given, and projects do not share data', async () => {
    const saved = process.env['FIRESTORE_EMULATOR_HOST'];
    process.env['FIRESTORE_EMULATOR_HOST'] = emu.hostPort;
    try {
      const p1 = emu.projectId();
      const p2 = emu.projectId();
      expect(p1).not.toBe(p2);
      conn = connectFirestore(`firestore://${p1}`);
      expect(conn.emulatorHost).toBe(emu.hostPort);
      const other = connectFirestore(`firestore://${p2}`);
      try {
        await conn.firestore.doc('things/a').set({ n: 1 });
        expect((await other.firestore.doc('things/a').get()).exists).toBe(false);
        await emu.clear(p1);
        expect((await conn.firestore.doc('things/a').get()).exists).toBe(false);
      } finally {
        await other.close();
      }
    } finally {
      if (saved === undefined) delete process.env['FIRESTORE_EMULATOR_HOST'];
      else process.env['FIRESTORE_EMULATOR_HOST'] = saved;
    }
  });

  it('close() is idempotent', async () => {
    conn = connectFirestore(`firestore://${emu.projectId()}`, { emulatorHost: emu.hostPort });
    await conn.firestore.doc('things/a').set({ n: 1 });
    await conn.close();
    await conn.close();
    // Not asserted: a get() after terminate() rejects ("The client has already been
    // terminated") but the client also leaves a second, unhandled rejection behind.
  });
});
