/**
 * What only the Firestore emulator can do. Kept apart from connection.ts so that nothing the
 * server runs can reach it by accident: the server never clears data.
 */

/**
 * Deletes every document of an emulator project through the emulator's REST reset endpoint.
 * There is no such endpoint on Google's service, and deleting a real project's data is not a
 * script's business: callers refuse to get here without an emulator.
 */
export async function clearEmulatorProject(emulatorHost: string, projectId: string): Promise<void> {
  const res = await fetch(`http://${emulatorHost}/emulator/v1/projects/${encodeURIComponent(projectId)}/databases/(default)/documents`, { method: 'DELETE', signal: AbortSignal.timeout(120_000) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`the emulator at ${emulatorHost} refused to clear project ${projectId}: HTTP ${res.status}`);
}
