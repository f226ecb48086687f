-- Money and scores follow rules (issue 16). Bounds in whole units, mirrored in src/app/bounds.ts:
--   amount of one API transaction / admin credit, job reward ..... 1 .. 10^12 (reward 0 .. 10^12)
--   wallet balance, leaderboard score ............................ 0 .. 10^15
--   one ledger row ............................................... 1 .. 10^15
-- 10^15 is well under 2^53 (~9.007 * 10^15): every value the API can ever read is an exact
-- JavaScript number, and no sum of two bounded values overflows int8.
--
-- Runs on databases that already hold rows (production was attacked before this existed):
-- every out-of-bound row is repaired BEFORE its constraint is added, so the migration
-- cannot fail on old data.

-- Scores: clamp, then bound. Scores are not money, so clamping loses nothing owed to anyone.
UPDATE scores SET score = LEAST(GREATEST(score, 0), 1000000000000000)
 WHERE score < 0 OR score > 1000000000000000;
ALTER TABLE scores ADD CONSTRAINT scores_score_bounds CHECK (score BETWEEN 0 AND 1000000000000000);

-- The ledger: new types, and the job a hold / release / reward belongs to.
--   credit (legacy self-credit; no longer written), debit (owner), hold (job created, reward
--   raised, job re-opened), release (job cancelled, reward lowered), reward (job completed,
--   paid to the assignee), admin_credit (operator route), correction (only written below,
--   when a balance is clamped). Signs: credit, release, reward, admin_credit add; debit,
--   hold, correction subtract.
ALTER TABLE wallet_transactions DROP CONSTRAINT IF EXISTS wallet_transactions_type_check;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_type_check
  CHECK (type IN ('credit', 'debit', 'hold', 'release', 'reward', 'admin_credit', 'correction'));
-- No ON DELETE action: jobs are never deleted, and a ledger row must not lose its job.
ALTER TABLE wallet_transactions ADD COLUMN job_id bigint REFERENCES jobs (id);
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_job_check
  CHECK ((type IN ('hold', 'release', 'reward')) = (job_id IS NOT NULL));
CREATE INDEX wallet_transactions_job_id_idx ON wallet_transactions (job_id) WHERE job_id IS NOT NULL;

-- Legacy ledger rows above the bound can only have been written by hand (the API capped
-- amounts at 10^12); they are clamped like the balances below.
UPDATE wallet_transactions SET amount = 1000000000000000 WHERE amount > 1000000000000000;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_amount_bounds CHECK (amount BETWEEN 1 AND 1000000000000000);

-- Balances above 10^15 (minted through the old self-credit) are clamped, and the removed
-- excess is written to the ledger as 'correction' rows of at most 10^15 each, so that
-- "balance = signed sum of the wallet's ledger" still holds for those wallets.
INSERT INTO wallet_transactions (user_id, type, amount)
SELECT w.user_id, 'correction', LEAST(1000000000000000, w.balance - 1000000000000000 - k * 1000000000000000)
  FROM wallets w
 CROSS JOIN LATERAL generate_series(0, (w.balance - 1000000000000000 - 1) / 1000000000000000) AS k
 WHERE w.balance > 1000000000000000;
UPDATE wallets SET balance = 1000000000000000, updated_at = now() WHERE balance > 1000000000000000;
-- wallets_balance_check (balance >= 0, migration 001) stays: it already names the lower bound.
ALTER TABLE wallets ADD CONSTRAINT wallets_balance_max CHECK (balance <= 1000000000000000);

-- Jobs: rewards bounded, and the money behind a reward is now held in the job itself.
-- `held` is what the owner's wallet paid into the job and the only amount a completion pays
-- out or a cancellation returns. Jobs from before this migration hold nothing (held = 0):
-- nobody paid for their reward, so completing one pays 0 and scores 0, until the owner sets
-- its reward again (which funds the hold). This keeps sum(balances) + sum(held) exact from
-- here on without taking money from anyone retroactively.
UPDATE jobs SET reward = 1000000000000 WHERE reward > 1000000000000;
ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_reward_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_reward_bounds CHECK (reward BETWEEN 0 AND 1000000000000);
ALTER TABLE jobs ADD COLUMN held bigint NOT NULL DEFAULT 0;
-- Only an open job holds money; never more than its reward.
ALTER TABLE jobs ADD CONSTRAINT jobs_held_bounds CHECK (held >= 0 AND held <= reward AND (held = 0 OR status = 'open'));
-- Set when the assignee accepts (POST /jobs/:id/accept); cleared when the assignee changes or
-- the job is cancelled. Only an accepted job can be completed.
ALTER TABLE jobs ADD COLUMN accepted_at timestamptz;
