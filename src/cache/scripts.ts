import { createHash } from 'node:crypto';

/**
 * The Lua scripts of the Redis store. Each runs atomically in Redis, which is what makes
 * "check the lease, then write" one step: no command from another client can fall between the
 * check and the write. Times and TTLs arrive as decimal strings and are passed to Redis as such
 * (a Lua number handed to redis.call may be formatted in exponent notation).
 *
 * An entry is a string under its key. Its lease takes one of two forms:
 * - on a key that holds no entry, for a call without tags, a marker under the entry's own key:
 *   NUL then the holder's token (entry.ts `leaseMarker`), with the lease's expiry. One plain
 *   `SET <key> <marker> NX PX … GET` both reads the key and takes the lease: a miss needs no
 *   read of its own before it, and no script. Where Redis has `SET … IFEQ` (Valkey ≥ 8.1,
 *   Redis ≥ 8.4) the holder's write needs none either: `SET <key> <entry> IFEQ <marker>`. It
 *   cannot announce itself, so a waiter on another instance flags the marker (SOH appended, by
 *   ACQUIRE): the plain write then misses it and the holder writes with WRITE_LEASED, which
 *   announces. Every script takes the flagged marker for the marker;
 * - otherwise (a stale entry stays readable while it is refreshed; a tagged lease records tag
 *   versions) a string under `<key>\0lease`: `token|lx|lt` (the holder's token, the expiry in
 *   clock ms, the tag versions it was taken under), with its own expiry, in the entry's slot on a
 *   cluster (topology/slots.ts). An earlier version's hash lease is still honoured by ACQUIRE.
 * Deleting or replacing the entry's key revokes a marker as it revokes the lease key. The scripts
 * that drop a lease, in either form, announce it on the shard channel named after the lease key
 * (`SPUBLISH`), which is how a waiter on another instance learns at once that the value is
 * written (lease-watch.ts).
 *
 * Each script's first write is one that adds memory (SET, HSET), never a DEL: Redis refuses a
 * script for maxmemory only at its first write, so a script that began with a DEL would write
 * past `maxmemory` under `noeviction` (test/cache/maxmemory.test.ts).
 *
 * Tag versions: `tp` (the tag key prefix) lets a script read and create tag version keys
 * itself, named from the prefix, not declared in KEYS. That is fine on one Redis, not on a
 * cluster, where they live in other slots. There the store passes, in place of the prefix,
 * a NUL followed by the versions it read (`\0;name=version…`, see TAG_VERSION), or `\0*`
 * ("the versions recorded on the lease or entry are current": the lease-checked write and
 * fail-safe, whose result every read checks against the live versions anyway). A tag the
 * script was not given counts as moved, so a missing version can only invalidate. See DESIGN.md.
 */

export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

export function luaScript(source: string): LuaScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * Helpers shared by the entry scripts.
 * - parse(v): the header fields of an entry's `v` (see entry.ts), or nil when malformed: fresh,
 *   grace, fetchMs, failSafe, refs, the position where the value part starts (the `|`, or the
 *   `,` before a JSON entry's value), and whether it is a JSON entry.
 * - header(json, x, g, d, f, refs): the header of `v` in either form, up to that position.
 * - valid(refs, tp): every `;name=version` in refs is the current version of that tag.
 * - extend(refs, tp, ms): tag version keys live at least ms more (an absent one stays absent).
 * - snapshot(csv, tp, nonce, ms): the current versions of the `;`-separated tag names as refs,
 *   creating a fresh version for a tag that has none, and making each live at least ms more.
 * - init(tp): reads versions given in place of the prefix (cluster); then current(tp, name)
 *   answers from them, extend does nothing, and snapshot only assembles them.
 * - leaseOf(lk): token, expiry and tag refs of the lease, or nil when there is none (an earlier
 *   version's hash lease is read too).
 * - announce(lk): tells waiters the lease is gone (`SPUBLISH`; a Redis without it just has them poll).
 */
const LIB = `
local known, trust = nil, false
local function init(tp)
  if string.byte(tp, 1) ~= 0 then return end
  known = {}
  local given = string.sub(tp, 2)
  if given == '*' then trust = true return end
  for name, ver in string.gmatch(given, ';([^;=]+)=([^;]*)') do known[name] = ver end
end
local function leaseOf(lk)
  local s = redis.pcall('GET', lk)
  if not s then return nil end
  if type(s) == 'table' then
    local f = redis.call('HMGET', lk, 'l', 'lx', 'lt')
    return f[1], tonumber(f[2]), f[3] or ''
  end
  local t, x, lt = string.match(s, '^([^|]*)|([^|]*)|(.*)$')
  return t, tonumber(x), lt
end
local function announce(lk)
  redis.pcall('SPUBLISH', lk, '1')
end
local function current(tp, name)
  if known then return known[name] or false end
  return redis.call('GET', tp .. name)
end
local function parse(v)
  if string.byte(v, 1) == 91 then
    local x, g, d, f, at = string.match(v, '^%[([^,]*),([^,]*),([^,]*),([01])(),')
    if not x or not tonumber(x) or not tonumber(g) then return nil end
    return x, g, d, f, '', at, true
  end
  local bar = string.find(v, '|', 1, true)
  if not bar then return nil end
  local x, g, d, f, refs = string.match(string.sub(v, 1, bar - 1), '^([^;]*);([^;]*);([^;]*);([^;]*)(.*)$')
  if not x or not tonumber(x) or not tonumber(g) then return nil end
  return x, g, d, f, refs, bar, false
end
local function header(json, x, g, d, f, refs)
  if json then return '[' .. x .. ',' .. g .. ',' .. d .. ',' .. f end
  return x .. ';' .. g .. ';' .. d .. ';' .. f .. refs
end
local function valid(refs, tp)
  if trust or not refs or refs == '' then return true end
  for name, ver in string.gmatch(refs, ';([^;=]+)=([^;]*)') do
    if current(tp, name) ~= ver then return false end
  end
  return true
end
local function extend(refs, tp, ms)
  if known then return end
  local n = tonumber(ms)
  for name in string.gmatch(refs, ';([^;=]+)=') do
    local p = redis.call('PTTL', tp .. name)
    if p >= 0 and p < n then redis.call('PEXPIRE', tp .. name, ms) end
  end
end
local function snapshot(csv, tp, nonce, ms)
  local n = tonumber(ms)
  local out = {}
  local i = 0
  for name in string.gmatch(csv, '[^;]+') do
    i = i + 1
    local ver
    if known then
      ver = known[name] or ''
    else
      local k = tp .. name
      ver = redis.call('GET', k)
      if not ver then
        ver = nonce .. i
        redis.call('SET', k, ver, 'PX', ms)
      else
        local p = redis.call('PTTL', k)
        if p >= 0 and p < n then redis.call('PEXPIRE', k, ms) end
      end
    end
    out[i] = ';' .. name .. '=' .. ver
  end
  return table.concat(out)
end
`;

/**
 * KEYS[1] entry, KEYS[2] its lease. ARGV: now, token, leaseTtlMs, leaseUntilMs, mode, tagPrefix,
 * tagsCsv, nonce. Returns {state, v, lease}: state 'fresh' | 'stale' | 'absent'; v the stored
 * entry or ''; lease 'acquired' | 'held' | 'free'.
 *
 * A marker under the entry's key is a lease held. A call without tags that finds no usable entry
 * takes its lease as a marker there (replacing a dead entry), as an untagged miss does without
 * the script; with a stale entry or tags, it takes the lease key.
 *
 * A lease is held while its expiry is ahead and its tag versions are current: a lease taken
 * before a tag invalidation is dead, so the next caller takes over at once instead of waiting
 * for a holder whose write would be refused anyway. Anything under the entry's key that is not
 * a usable entry (corrupt, foreign, past grace) is deleted; an entry in an earlier version's
 * hash form is read, and replaced by the next write.
 */
export const ACQUIRE = luaScript(`${LIB}
local key, lk, now, tp = KEYS[1], KEYS[2], tonumber(ARGV[1]), ARGV[6]
init(tp)
local ty = redis.call('TYPE', key)['ok']
local v = false
if ty == 'string' then v = redis.call('GET', key)
elseif ty == 'hash' then v = redis.call('HGET', key, 'v') end
if v and string.byte(v, 1) == 0 then
  -- A marker: its holder is fetching. Flag it (SOH at its end) so the holder's write announces itself.
  if ty == 'string' and string.byte(v, -1) ~= 1 then redis.call('SET', key, v .. string.char(1), 'KEEPTTL') end
  return {'absent', '', 'held'}
end
local state = 'absent'
if v then
  local x, g, d, fl, refs = parse(v)
  if not x or now >= tonumber(g) or not valid(refs, tp) then v = false
  elseif now < tonumber(x) then state = 'fresh'
  else state = 'stale' end
end
local holder, expiry, lt = leaseOf(lk)
if holder and expiry and expiry > now and valid(lt, tp) then return {state, v or '', 'held'} end
if state == 'fresh' and ARGV[5] ~= 'early' then return {state, v, 'free'} end
if not v and ARGV[7] == '' then
  redis.call('SET', key, string.char(0) .. ARGV[2], 'PX', ARGV[3])
  return {state, '', 'acquired'}
end
local snap = snapshot(ARGV[7], tp, ARGV[8], ARGV[3])
redis.call('SET', lk, ARGV[2] .. '|' .. ARGV[4] .. '|' .. snap, 'PX', ARGV[3])
if not v and ty ~= 'none' then redis.call('DEL', key) end
return {state, v or '', 'acquired'}`);

/**
 * KEYS: the n entries, then their n leases. ARGV: token, tagPrefix, nonce, then seven per
 * entry: freshUntil, graceUntil, fetchMs, ttlMs, tagsCsv, encoded value, json ('1': the value
 * is the default serializer's checked JSON, `c` then JSON text). Returns 1 if written, 0 if not.
 *
 * With a token (one entry): writes only while the token holds the lease and the lease's tag
 * versions are current, and records those versions, captured when the lease was taken, before
 * the fetch. With an empty token: writes unconditionally, recording the versions current now.
 * Either way the write drops any lease on the key. An entry that records no tag versions and
 * whose value may be one is stored as a JSON entry (entry.ts); any other in the general form.
 */
export const WRITE = luaScript(`${LIB}
local token, tp, nonce = ARGV[1], ARGV[2], ARGV[3]
init(tp)
local n = #KEYS / 2
for i = 1, n do
  local key, lk = KEYS[i], KEYS[n + i]
  local b = 3 + (i - 1) * 7
  local ttl = ARGV[b + 4]
  local refs
  if token ~= '' then
    local holder, expiry, lt = leaseOf(lk)
    if holder ~= token then return 0 end
    if not valid(lt, tp) then
      redis.call('DEL', lk)
      announce(lk)
      return 0
    end
    refs = lt or ''
    extend(refs, tp, ttl)
  else
    refs = snapshot(ARGV[b + 5], tp, nonce .. i .. '.', ttl)
  end
  local json = ARGV[b + 7] == '1' and refs == ''
  local value = ARGV[b + 6]
  local head = header(json, ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], '0', refs)
  if json then
    redis.call('SET', key, head .. ',' .. string.sub(value, 2) .. ']', 'PX', ttl)
  else
    redis.call('SET', key, head .. '|' .. value, 'PX', ttl)
  end
  if redis.call('DEL', lk) == 1 then announce(lk) end
end
return 1`);

/**
 * KEYS[1] entry, KEYS[2] its lease. ARGV: token ('' for none), expected freshUntil, retryAt,
 * tagPrefix. Rewrites the header with freshUntil = retryAt and the fail-safe flag (keeping the
 * entry's expiry), and drops the lease. Returns 0 (and leaves the key alone) if the entry was
 * replaced, invalidated, or the lease lost meanwhile.
 */
export const FAIL_SAFE = luaScript(`${LIB}
local key, lk, tp = KEYS[1], KEYS[2], ARGV[4]
init(tp)
if redis.call('TYPE', key)['ok'] ~= 'string' then return 0 end
if ARGV[1] ~= '' and leaseOf(lk) ~= ARGV[1] then return 0 end
local v = redis.call('GET', key)
local x, g, d, fl, refs, at, json = parse(v)
if not x or x ~= ARGV[2] or not valid(refs, tp) then return 0 end
redis.call('SET', key, header(json, ARGV[3], g, d, '1', refs) .. string.sub(v, at), 'KEEPTTL')
if redis.call('DEL', lk) == 1 then announce(lk) end
return 1`);

/** KEYS[1] an entry, KEYS[2] its lease key, ARGV[1] token. Drops the lease, in either form, if the token holds it. */
export const RELEASE = luaScript(`
local s = redis.pcall('GET', KEYS[1])
local marker = string.char(0) .. ARGV[1]
if s == marker or s == marker .. string.char(1) then
  redis.call('DEL', KEYS[1])
  redis.pcall('SPUBLISH', KEYS[2], '1')
  return 1
end
s = redis.pcall('GET', KEYS[2])
if type(s) == 'string' and string.sub(s, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then
  redis.call('DEL', KEYS[2])
  redis.pcall('SPUBLISH', KEYS[2], '1')
end
return 1`);

/**
 * The lease-checked writes of untagged entries, the miss path's last step: as WRITE with a token,
 * without the tag machinery, for n entries at once (the misses that finished together: one
 * script call costs Redis far more than the commands it runs). KEYS: the n entries, then their n
 * lease keys; ARGV: three per entry, its token, the stored text (entry.ts `storedText`), ttlMs.
 * Returns a table of n integers: 1 written, 0 if that token no longer holds the lease. The marker
 * under the entry's key is checked first: it is the common case (a miss), and then the write is
 * the second command. A marker no waiter flagged is written over without a `SPUBLISH`: every
 * waiter on another instance runs ACQUIRE, which flags it, after subscribing and before it
 * waits (lease-wait.ts), so nobody is listening for that lease; this is what `SET … IFEQ` relies
 * on too, and it saves Redis a third command per write. A lease that records tag versions
 * belongs to a tagged call, which writes with WRITE.
 */
export const WRITE_LEASED = luaScript(`
local n = #KEYS / 2
local out = {}
local NUL, SOH = string.char(0), string.char(1)
for i = 1, n do
  local key = KEYS[i]
  local token, text, ttl = ARGV[3 * i - 2], ARGV[3 * i - 1], ARGV[3 * i]
  local s, marker = redis.pcall('GET', key), NUL .. token
  if s == marker or s == marker .. SOH then
    redis.call('SET', key, text, 'PX', ttl)
    if s ~= marker then redis.pcall('SPUBLISH', KEYS[n + i], '1') end
    out[i] = 1
  else
    out[i] = 0
    local lk = KEYS[n + i]
    local l = redis.pcall('GET', lk)
    if type(l) == 'string' and string.sub(l, 1, #token + 1) == token .. '|' then
      redis.call('SET', key, text, 'PX', ttl)
      redis.call('DEL', lk)
      redis.pcall('SPUBLISH', lk, '1')
      out[i] = 1
    end
  end
end
return out`);

/**
 * Cluster only. KEYS[1] a tag version key, ARGV[1] the version to create when it has none,
 * ARGV[2] ms it must live at least. Returns the tag's current version: what `snapshot` does
 * for one tag, run in the tag's own slot before the entry script, which then receives the
 * versions in place of the tag prefix (see TagVersions).
 */
export const TAG_VERSION = luaScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  v = ARGV[1]
  redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
else
  local p = redis.call('PTTL', KEYS[1])
  if p >= 0 and p < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
end
return v`);

/**
 * INCRBY and, when the key has no expiry yet (the first write, or a key left without one),
 * PEXPIRE, in one atomic script: INCR then EXPIRE as two calls leaves a counter without expiry
 * whenever the process dies or the connection drops between them.
 */
export const INCR_WITH_TTL = luaScript(`
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`);
