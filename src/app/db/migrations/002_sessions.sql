-- Log-in sessions. The token itself is never stored: the key is the hex SHA-256 of it, so a
-- leaked table (or cache) holds nothing a client could present. The cache keeps
-- session:{token_hash} in front of this table; the table is the record, so sessions survive a
-- cache flush or outage.
CREATE TABLE sessions (
  token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
-- Housekeeping at log-in ("this user's expired sessions") and a future "log out everywhere".
CREATE INDEX sessions_user_id_idx ON sessions (user_id, expires_at);
