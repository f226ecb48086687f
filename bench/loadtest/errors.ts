/** Why the load test could not set up its database (before any traffic was sent). */
export type LoadTestSetupProblem =
  /** The database holds another data set than the workload model assumes. */
  | 'seed_mismatch'
  /** The options name a database the load test refuses or cannot reach. */
  | 'bad_database';

/** The load test's database is not what the workload needs. Code `E_LOADTEST_SETUP`; `problem` says why. */
export class LoadTestSetupError extends Error {
  readonly code = 'E_LOADTEST_SETUP';
  constructor(
    message: string,
    readonly problem: LoadTestSetupProblem,
  ) {
    super(message);
    this.name = 'LoadTestSetupError';
  }
}
