/**
 * What must never be printed: every password and token in the environment and the flags, and
 * credentials in any URL. Applied to the error line and --verbose's details whatever produced
 * them (node-redis, pg, a cause's message), on top of the masking the messages already do.
 */
import type { ConnectionFlags } from './connection.ts';

/**
 * Every secret the environment and the flags hold, in each form it could be printed in (as typed
 * in a URL, and decoded). Read from the raw variables rather than the parsed configuration, so
 * an error raised while the configuration is being read is scrubbed too.
 */
export function secretsOf(env: NodeJS.ProcessEnv, flags: ConnectionFlags): string[] {
  const out: string[] = [];
  const fromUrl = (url: string | undefined): void => {
    if (url === undefined) return;
    try {
      const p = new URL(url.trim()).password;
      if (p !== '') out.push(p, decodeURIComponent(p));
    } catch {
      // Not a URL: it holds no password a URL parser could find; the URL pattern in main.ts still masks it.
    }
  };
  fromUrl(flags.redis);
  fromUrl(env['REDIS_URL']);
  fromUrl(env['DATABASE_URL']);
  for (const node of (env['REDIS_CLUSTER_NODES'] ?? '').split(',')) fromUrl(node);
  for (const name of ['REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD', 'OPS_TOKEN', 'ADMIN_TOKEN']) {
    const v = env[name];
    if (v !== undefined) out.push(v);
  }
  // Longest first, so a secret containing another is replaced whole.
  return Array.from(new Set(out.filter((s) => s.length > 0))).sort((a, b) => b.length - a.length);
}

/** `scheme://user:password@` in any text. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*):([^\s@/]+)@/gi;

export function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(URL_CREDENTIALS, '$1$2:****@');
  for (const s of secrets) out = out.split(s).join('****');
  return out;
}
