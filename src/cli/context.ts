/** What every command receives from main.ts. */
import type { Logger } from 'pino';
import type { CacheOptions } from '../cache/index.ts';
import type { AppConfig } from '../app/config.ts';
import type { ParsedCommand } from './args.ts';
import type { OpenCache } from './connection.ts';
import type { Io } from './output.ts';

export interface CommandContext {
  io: Io;
  /** Global and command flags. */
  values: ParsedCommand['values'];
  positionals: string[];
  /** `simulate`: the simulator's own flags. */
  rest: string[];
  json: boolean;
  verbose: boolean;
  logger: Logger;
  /** The server's configuration with --redis/--prefix on top; throws CliError on a bad one. */
  config(): AppConfig;
  /** Connects to Redis on first call (closed by main.ts when the command ends); `tuning` applies to that first call. */
  openCache(tuning?: Pick<CacheOptions, 'scanBatchSize'>): Promise<OpenCache>;
}
