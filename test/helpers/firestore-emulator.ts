/**
 * Throwaway Google Cloud Firestore emulators for tests (the official one from the Cloud SDK,
 * a Java program: transactions really isolate there, unlike in npm look-alikes).
 *
 * Each test file starts its own emulator on a free port and gives every test a fresh project
 * id, so tests never see each other's documents. The launcher is a bash script that forks
 * `java`, so the emulator runs in its own process group and stop() kills the whole group; a
 * detached watchdog kills that group too if this process dies without calling stop() (worker
 * crash, SIGKILL), so no java process is left behind.
 *
 * Where the emulator is not installed, `describeFirestore` reports the suite as skipped (with
 * a console line naming the paths searched) or, with CI=true, fails it with that message.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';
import { freePort, PORT_ATTEMPTS, PortTakenError, portTakenIn } from './redis-server.ts';

/** Where the Cloud SDK puts the emulator when no `gcloud` answers (Debian/Ubuntu packages). */
export const DEFAULT_SDK_ROOT = '/usr/lib/google-cloud-sdk';
const LAUNCHER_IN_SDK = join('platform', 'cloud-firestore-emulator', 'cloud_firestore_emulator');

export type FirestoreAvailability = { available: true; launcher: string } | { available: false; reason: string };

export interface TestFirestoreEmulator {
  /** Always 127.0.0.1. */
  readonly host: string;
  readonly port: number;
  /** `127.0.0.1:PORT`, the value for FIRESTORE_EMULATOR_HOST. */
  readonly hostPort: string;
  /** A project id not handed out before by this emulator (valid per Google's rules, `demo-` prefix). */
  projectId(): string;
  /** Deletes every document of the project (the emulator's REST reset endpoint). */
  clear(projectId: string): Promise<void>;
  /** Kills the emulator's process group (bash launcher and java); idempotent. */
  stop(): Promise<void>;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && isExecutable(join(dir, command)));
}

/** The SDK root `gcloud info` reports, or undefined when there is no working gcloud. */
function gcloudSdkRoot(): string | undefined {
  if (!onPath('gcloud')) return undefined;
  try {
    const out = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20_000,
    }).trim();
    return out === '' ? undefined : out;
  } catch {
    return undefined;
  }
}

let cached: FirestoreAvailability | undefined;

/**
 * Finds the emulator launcher: `FIRESTORE_EMULATOR_PATH` when set (and then only there), else
 * under the SDK root `gcloud info` prints, else under DEFAULT_SDK_ROOT. Also needs `java` (or
 * `$JAVA`). Synchronous, for `describe.skipIf` at collection time; cached per process.
 */
export function firestoreAvailability(): FirestoreAvailability {
  if (cached !== undefined) return cached;
  const searched: string[] = [];
  let launcher: string | undefined;
  const override = process.env['FIRESTORE_EMULATOR_PATH'];
  if (override !== undefined && override !== '') {
    searched.push(`${override} (FIRESTORE_EMULATOR_PATH)`);
    if (isExecutable(override)) launcher = override;
  } else {
    const sdkRoot = gcloudSdkRoot();
    const roots = sdkRoot === undefined ? [DEFAULT_SDK_ROOT] : [sdkRoot, DEFAULT_SDK_ROOT];
    if (sdkRoot === undefined) searched.push('gcloud info (no gcloud on PATH or it failed)');
    for (const root of new Set(roots)) {
      const candidate = join(root, LAUNCHER_IN_SDK);
      searched.push(`${candidate}${root === sdkRoot ? ' (gcloud info)' : ' (default)'}`);
      if (launcher === undefined && isExecutable(candidate)) launcher = candidate;
    }
  }
  const java = process.env['JAVA'];
  if (launcher === undefined) {
    cached = {
      available: false,
      reason: `Firestore emulator not found; searched: ${searched.join('; ')}. Install it with \`gcloud components install cloud-firestore-emulator\` (or apt-get install google-cloud-cli-firestore-emulator), or set FIRESTORE_EMULATOR_PATH to its cloud_firestore_emulator launcher.`,
    };
  } else if (java !== undefined && java !== '' ? !isExecutable(java) : !onPath('java')) {
    cached = { available: false, reason: `Firestore emulator found at ${launcher} but no Java runtime (java on PATH or $JAVA) to run it.` };
  } else {
    cached = { available: true, launcher };
  }
  return cached;
}

/**
 * `describe` for suites that need the emulator. Available: a plain describe. Missing: with
 * CI=true one failing test that carries the reason; elsewhere the suite is reported as skipped
 * (describe.skipIf) and the reason is printed, so it is never silently green.
 */
export function describeFirestore(name: string, fn: () => void): void {
  const availability = firestoreAvailability();
  if (availability.available) {
    describe(name, fn);
    return;
  }
  if (process.env['CI'] === 'true') {
    describe(name, () => {
      it('needs the Firestore emulator (CI=true)', () => {
        throw new Error(availability.reason);
      });
    });
    return;
  }
  console.warn(`[skipped] ${name}: ${availability.reason}`);
  describe.skipIf(true)(name, fn);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

async function waitUntil(check: () => boolean, deadlineMs: number): Promise<boolean> {
  const until = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

let projectCounter = 0;

/**
 * Starts an emulator on a free 127.0.0.1 port and resolves once its HTTP port answers `GET /`
 * with 200. Throws (after killing what it started) when the launcher exits early or the
 * emulator does not answer within `startTimeoutMs` (default 60 s: java on two busy cores).
 * A port taken between freePort() and the emulator's bind (tests start redis-servers and other
 * emulators on free ports at the same time) is retried on another, as startRedisServer does.
 */
export async function startFirestoreEmulator(opts: { startTimeoutMs?: number } = {}): Promise<TestFirestoreEmulator> {
  const availability = firestoreAvailability();
  if (!availability.available) throw new Error(availability.reason);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnPort(availability.launcher, await freePort(), opts.startTimeoutMs ?? 60_000);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

async function startOnPort(launcher: string, port: number, startTimeoutMs: number): Promise<TestFirestoreEmulator> {
  const host = '127.0.0.1';
  const baseProject = `demo-rcl-${process.pid}`;
  let output = '';
  const child: ChildProcess = spawn(
    launcher,
    ['start', `--host=${host}`, `--port=${port}`, `--project_id=${baseProject}`],
    // Own process group: stop() signals -pid, which reaches the java the launcher forks.
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`could not spawn ${launcher}`);
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = child.exitCode !== null || child.signalCode !== null;
  child.once('exit', () => {
    exited = true;
  });

  // If this process dies without stop() (crash, SIGKILL from a timeout), the watchdog kills
  // the emulator's group; it ends by itself as soon as the group is gone.
  const watchdog = spawn(
    'sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null && kill -0 -${pgid} 2>/dev/null; do sleep 1; done; kill -KILL -${pgid} 2>/dev/null; exit 0`],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  const onExit = (): void => killGroup(pgid, 'SIGKILL');
  process.once('exit', onExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    killGroup(pgid, 'SIGTERM');
    // The JVM shuts down in well under a second on SIGTERM; SIGKILL whatever is left.
    if (!(await waitUntil(() => exited && !groupAlive(pgid), 5_000))) {
      killGroup(pgid, 'SIGKILL');
      await waitUntil(() => !groupAlive(pgid), 5_000);
    }
    if (watchdog.exitCode === null && watchdog.signalCode === null) watchdog.kill('SIGKILL');
    child.stdout?.destroy();
    child.stderr?.destroy();
  };

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (await answers(`http://${host}:${port}/`)) break;
    if (exited || Date.now() > deadline) {
      const why = exited ? `exited with ${child.exitCode ?? child.signalCode}` : 'did not answer in time';
      await stop();
      const message = `Firestore emulator on port ${port} ${why}. Output:\n${output}`;
      if (exited && portTakenIn(output)) throw new PortTakenError(message);
      throw new Error(message);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    host,
    port,
    hostPort: `${host}:${port}`,
    projectId() {
      projectCounter += 1;
      // Google's rules: 6-30 chars, lowercase letters, digits and hyphens, starts with a letter.
      return `demo-t${projectCounter}-${Math.random().toString(36).slice(2, 8)}`;
    },
    async clear(projectId: string) {
      const res = await fetch(
        `http://${host}:${port}/emulator/v1/projects/${encodeURIComponent(projectId)}/databases/(default)/documents`,
        { method: 'DELETE' },
      );
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`clearing Firestore project ${projectId} failed: HTTP ${res.status}`);
    },
    stop,
  };
}
