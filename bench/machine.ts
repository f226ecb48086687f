/** The header every dated benchmark result carries: command, date, Node version, machine. */
import { cpus, totalmem, platform, release } from 'node:os';

export function machineHeader(command: string): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return [
    `- Command: \`${command}\``,
    `- Date: ${new Date().toISOString()}`,
    `- Node: ${process.version}`,
    `- Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()}`,
  ].join('\n');
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}
