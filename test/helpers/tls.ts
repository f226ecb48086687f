/**
 * Throwaway TLS material made with the `openssl` command line: a CA, a server certificate it
 * signs for 127.0.0.1 (subjectAltName IP:127.0.0.1, which is what Node checks for an IP host),
 * and a second, unrelated CA that must not verify that certificate.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestTlsFiles {
  readonly dir: string;
  /** The CA that signed the server certificate (PEM). */
  readonly caFile: string;
  /** A CA that signed nothing here: verification against it must fail. */
  readonly otherCaFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Removes the folder. */
  remove(): void;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 30_000 });
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string; message?: string };
    if (e.code === 'ENOENT') throw new Error('openssl is not installed (Debian/Ubuntu: apt-get install openssl); the TLS tests need it to make certificates');
    throw new Error(`openssl ${args.join(' ')} failed: ${e.message ?? String(err)}\n${e.stderr ?? ''}`);
  }
}

/** A self-signed CA: P-256 keys, quick to make, which redis-server and Node both accept. */
async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=redis-cache-layer test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
}

export async function makeTlsFiles(): Promise<TestTlsFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'rcl-tls-'));
  try {
    await Promise.all([makeCa(dir, 'ca'), makeCa(dir, 'other-ca')]);
    await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
    const serial = `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
    await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', serial, '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'], dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    otherCaFile: join(dir, 'other-ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
