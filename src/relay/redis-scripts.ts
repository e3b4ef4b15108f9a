/**
 * The Lua scripts of the Redis store (redis-store.ts). Each runs atomically in Redis, so a check and
 * the write it guards cannot interleave with another instance's. Keys, under the prefix P
 * (default "duet:relay:"):
 *
 *   P c:<channel>            hash: creator, la (last activity, ms), conn:<role> (connection holding
 *                            the role), and per sending role: last:<role> (last stored seq),
 *                            acked:<role>, expired:<role>, count:<role>, bytes:<role>
 *   P m:<channel>:<role>     stream of the frames <role> sent, id "<seq>-0", fields p (payload),
 *                            t (stored at, Redis time in ms), o (the sender's address key)
 *   P a:<address>            hash: ch (channels it opened), mb (mailbox bytes it stores),
 *                            s:<instance> (its WebSocket connections on that instance)
 *   P total                  hash: bytes, frames (all mailboxes)
 *   P retired                sorted set: channel -> refused until (ms)
 *   P due                    sorted set: channel -> when the sweep looks at it next (ms); every
 *                            channel is in it, so its size is the channel count
 *   P instances              sorted set: instance id -> alive until (ms), renewed by a heartbeat
 *   P i:<instance>           pub/sub channel of an instance: "f<channel> <role> <seq> <payload>"
 *                            (a frame for its member), "r<connection>" (replaced), "x<channel>" (retired)
 *
 * Keys are built inside the scripts (numberOfKeys 0), so the store needs one Redis primary (with
 * replicas or Sentinel if wanted), not Redis Cluster. Time is Redis's (TIME), so instances with
 * skewed clocks agree on ages. Every script takes P as ARGV[1].
 */

const PRELUDE = `
local P = ARGV[1]
local OVERHEAD = ${128}
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(value) return tonumber(value) or 0 end
local function other(role) if role == 'extension' then return 'phone' end return 'extension' end
local function instance_of(connection) return string.match(connection, '^([^/]+)/') end
local function alive(connection, now)
  if not connection then return false end
  local expiry = redis.call('ZSCORE', P .. 'instances', instance_of(connection))
  return expiry ~= false and expiry ~= nil and tonumber(expiry) > now
end
local function notify(connection, message)
  redis.call('PUBLISH', P .. 'i:' .. instance_of(connection), message)
end
-- HINCRBY that deletes the field when it reaches 0 (empty hashes disappear).
local function add(key, field, delta)
  local value = redis.call('HINCRBY', key, field, delta)
  if value == 0 then redis.call('HDEL', key, field) end
  return value
end
local function stream_of(name, role) return P .. 'm:' .. name .. ':' .. role end
-- Drops role's frames up to seq upto, releasing what they counted.
local function drop(name, role, upto)
  if upto < 1 then return 0 end
  local entries = redis.call('XRANGE', stream_of(name, role), '-', upto)
  local bytes = 0
  for _, entry in ipairs(entries) do
    local fields = entry[2]
    local size = #fields[2]
    bytes = bytes + size
    add(P .. 'a:' .. fields[6], 'mb', -(size + OVERHEAD))
  end
  local count = #entries
  if count > 0 then
    redis.call('XTRIM', stream_of(name, role), 'MINID', upto + 1)
    local c = P .. 'c:' .. name
    redis.call('HINCRBY', c, 'count:' .. role, -count)
    redis.call('HINCRBY', c, 'bytes:' .. role, -bytes)
    redis.call('HINCRBY', P .. 'total', 'bytes', -(bytes + count * OVERHEAD))
    redis.call('HINCRBY', P .. 'total', 'frames', -count)
  end
  return count
end
-- The receiver of role's frames has every one up to seq.
local function acknowledge(name, role, seq)
  local c = P .. 'c:' .. name
  local h = redis.call('HMGET', c, 'last:' .. role, 'acked:' .. role)
  local upto = math.min(seq, num(h[1]))
  if upto <= num(h[2]) then return 0 end
  redis.call('HSET', c, 'acked:' .. role, upto)
  return drop(name, role, upto)
end
local function delete_channel(name)
  local c = P .. 'c:' .. name
  local creator = redis.call('HGET', c, 'creator')
  if creator then add(P .. 'a:' .. creator, 'ch', -1) end
  redis.call('DEL', c, stream_of(name, 'extension'), stream_of(name, 'phone'))
  redis.call('ZREM', P .. 'due', name)
end
local function is_retired(name, now)
  local until_ms = redis.call('ZSCORE', P .. 'retired', name)
  return until_ms ~= false and until_ms ~= nil and tonumber(until_ms) > now
end
`;

function script(body: string): string {
  return PRELUDE + body;
}

/** ARGV: P, instance, count, address, cap. 1 if `count` connections here keep the address within its cap over all live instances. */
export const ADMIT = script(`
local a = P .. 'a:' .. ARGV[4]
local instance, count, cap = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5])
local now = now_ms()
local fields = redis.call('HGETALL', a)
local total = count
for i = 1, #fields, 2 do
  local field = fields[i]
  if string.sub(field, 1, 2) == 's:' and string.sub(field, 3) ~= instance then
    if alive(string.sub(field, 3) .. '/', now) then total = total + tonumber(fields[i + 1])
    else redis.call('HDEL', a, field) end
  end
end
if total > cap then return 0 end
redis.call('HSET', a, 's:' .. instance, count)
return 1
`);

/** ARGV: P, instance, ttl. The instance is alive for ttl more ms. */
export const HEARTBEAT = script(`
redis.call('ZADD', P .. 'instances', now_ms() + tonumber(ARGV[3]), ARGV[2])
return 1
`);

/**
 * ARGV: P, channel, role, connection, address, received, max channels per address, recheck ms.
 * {'claimed', stored, queued, replaced connection or ''} | {'retired'} | {'address-limit'}
 */
export const CLAIM = script(`
local name, role, connection, address = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local received, max_channels, recheck = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local now = now_ms()
if is_retired(name, now) then return {'retired'} end
local c = P .. 'c:' .. name
if redis.call('EXISTS', c) == 0 then
  local a = P .. 'a:' .. address
  if num(redis.call('HGET', a, 'ch')) >= max_channels then return {'address-limit'} end
  redis.call('HINCRBY', a, 'ch', 1)
  redis.call('HSET', c, 'creator', address)
end
local previous = redis.call('HGET', c, 'conn:' .. role)
redis.call('HSET', c, 'conn:' .. role, connection, 'la', now)
if previous and previous ~= connection then
  if instance_of(previous) ~= instance_of(connection) then notify(previous, 'r' .. previous) end
else
  previous = ''
end
local peer = other(role)
acknowledge(name, peer, received)
redis.call('ZADD', P .. 'due', 'LT', now + recheck, name)
return {'claimed', num(redis.call('HGET', c, 'last:' .. role)), num(redis.call('HGET', c, 'count:' .. peer)), previous}
`);

/** ARGV: P, channel, role, connection. Frees the role if this connection still holds it. */
export const RELEASE = script(`
local name, role, connection = ARGV[2], ARGV[3], ARGV[4]
local c = P .. 'c:' .. name
if redis.call('HGET', c, 'conn:' .. role) ~= connection then return 0 end
local now = now_ms()
redis.call('HDEL', c, 'conn:' .. role)
redis.call('HSET', c, 'la', now)
redis.call('ZADD', P .. 'due', 'LT', now, name)
return 1
`);

/**
 * ARGV: P, max frames, max bytes, max bytes per address, max bytes in all, ttl ms, then per frame
 * (a batch: the frames that arrived on this instance since its last call): channel, role,
 * connection, seq, previous, payload, owner. Per frame: 'stored' | 'duplicate' with the last stored
 * seq, or 'full' | 'address-full' | 'total-full' | 'replaced' | 'unclaimed' | 'retired' |
 * 'out-of-order' with 0.
 */
export const STORE = script(`
local max_frames, max_bytes, max_address, max_total, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local now = now_ms()
local out = {}
local function store_one(name, role, connection, seq, previous, payload, owner)
  local c = P .. 'c:' .. name
  local peer_role = other(role)
  local h = redis.call('HMGET', c, 'conn:' .. role, 'last:' .. role, 'count:' .. role, 'bytes:' .. role, 'conn:' .. peer_role)
  local holder = h[1]
  if not holder then
    if is_retired(name, now) then return 'retired', 0 end
    return 'unclaimed', 0
  end
  if holder ~= connection then return 'replaced', 0 end
  local last = num(h[2])
  if previous > 0 and last < previous then return 'out-of-order', 0 end
  if seq <= last then return 'duplicate', last end
  local size = #payload
  local cost = size + OVERHEAD
  local a = P .. 'a:' .. owner
  if num(redis.call('HGET', a, 'mb')) + cost > max_address then return 'address-full', 0 end
  if num(redis.call('HGET', P .. 'total', 'bytes')) + cost > max_total then return 'total-full', 0 end
  local count, bytes = num(h[3]), num(h[4])
  if count >= max_frames or bytes + size > max_bytes then return 'full', 0 end
  redis.call('XADD', stream_of(name, role), seq .. '-0', 'p', payload, 't', now, 'o', owner)
  redis.call('HSET', c, 'last:' .. role, seq, 'la', now, 'count:' .. role, count + 1, 'bytes:' .. role, bytes + size)
  redis.call('HINCRBY', a, 'mb', cost)
  redis.call('HINCRBY', P .. 'total', 'bytes', cost)
  redis.call('HINCRBY', P .. 'total', 'frames', 1)
  redis.call('ZADD', P .. 'due', 'LT', now + ttl, name)
  local peer = h[5]
  if peer and instance_of(peer) ~= instance_of(connection) then
    notify(peer, 'f' .. name .. ' ' .. role .. ' ' .. seq .. ' ' .. payload)
  end
  return 'stored', seq
end
for i = 7, #ARGV, 7 do
  local kind, last = store_one(ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), ARGV[i + 5], ARGV[i + 6])
  out[#out + 1] = kind
  out[#out + 1] = last
end
return out
`);

/** ARGV: P, channel, sending role, from seq, max bytes. {acked, expired, last stored, seq, payload, seq, payload, …} */
export const READ = script(`
local name, role, from, max_bytes = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local meta = redis.call('HMGET', P .. 'c:' .. name, 'acked:' .. role, 'expired:' .. role, 'last:' .. role)
local out = {num(meta[1]), num(meta[2]), num(meta[3])}
local entries = redis.call('XRANGE', stream_of(name, role), from .. '-0', '+', 'COUNT', 256)
local bytes = 0
for _, entry in ipairs(entries) do
  local payload = entry[2][2]
  if #out > 3 and bytes + #payload > max_bytes then break end
  out[#out + 1] = tonumber(string.match(entry[1], '^(%d+)'))
  out[#out + 1] = payload
  bytes = bytes + #payload
end
return out
`);

/** ARGV: P, then per acknowledgement (a batch, as for STORE): channel, receiving role, seq. */
export const ACKNOWLEDGE = script(`
for i = 2, #ARGV, 3 do
  if redis.call('EXISTS', P .. 'c:' .. ARGV[i]) == 1 then acknowledge(ARGV[i], other(ARGV[i + 1]), tonumber(ARGV[i + 2])) end
end
return 1
`);

/** ARGV: P, channel, instance, retired ttl ms, max retired. Tells the members' other instances ("x"). */
export const RETIRE = script(`
local name, instance, ttl, max = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local now = now_ms()
local retired = P .. 'retired'
redis.call('ZADD', retired, now + ttl, name)
if redis.call('ZCARD', retired) > max then redis.call('ZPOPMIN', retired) end
local c = P .. 'c:' .. name
if redis.call('EXISTS', c) == 0 then return 0 end
for _, role in ipairs({'extension', 'phone'}) do
  drop(name, role, num(redis.call('HGET', c, 'last:' .. role)))
  local holder = redis.call('HGET', c, 'conn:' .. role)
  if holder and instance_of(holder) ~= instance then notify(holder, 'x' .. name) end
end
delete_channel(name)
return 1
`);

/**
 * ARGV: P, ttl ms, batch, recheck ms. Looks at up to `batch` channels that are due: drops frames
 * older than the TTL, forgets a channel nobody holds that has nothing left to say (a channel whose
 * frames expired is kept a TTL, so a member that comes back is told), and says when to look again.
 * {more (1/0), channel, expired frames, channel, expired frames, …}
 */
export const SWEEP = script(`
local ttl, batch, recheck = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', P .. 'retired', '-inf', now)
redis.call('ZREMRANGEBYSCORE', P .. 'instances', '-inf', now)
local due = redis.call('ZRANGEBYSCORE', P .. 'due', '-inf', now, 'LIMIT', 0, batch)
local out = {0}
if #due == batch then out[1] = 1 end
local function expire(name, role)
  local upto = 0
  local oldest = nil
  local entries = redis.call('XRANGE', stream_of(name, role), '-', '+', 'COUNT', 64)
  while #entries > 0 do
    for _, entry in ipairs(entries) do
      local stored_at = tonumber(entry[2][4])
      if now - stored_at < ttl then oldest = stored_at break end
      upto = tonumber(string.match(entry[1], '^(%d+)'))
    end
    if oldest then break end
    entries = redis.call('XRANGE', stream_of(name, role), '(' .. upto .. '-0', '+', 'COUNT', 64)
  end
  local c = P .. 'c:' .. name
  if upto > 0 and upto > num(redis.call('HGET', c, 'expired:' .. role)) then redis.call('HSET', c, 'expired:' .. role, upto) end
  return drop(name, role, upto), oldest
end
for _, name in ipairs(due) do
  local c = P .. 'c:' .. name
  if redis.call('EXISTS', c) == 0 then
    redis.call('ZREM', P .. 'due', name)
  else
    local expired_e, oldest_e = expire(name, 'extension')
    local expired_p, oldest_p = expire(name, 'phone')
    if expired_e + expired_p > 0 then
      out[#out + 1] = name
      out[#out + 1] = expired_e + expired_p
    end
    local h = redis.call('HMGET', c, 'conn:extension', 'conn:phone', 'expired:extension', 'expired:phone', 'la')
    local connected = alive(h[1], now) or alive(h[2], now)
    local nexts = {}
    if oldest_e then nexts[#nexts + 1] = oldest_e + ttl end
    if oldest_p then nexts[#nexts + 1] = oldest_p + ttl end
    if connected then nexts[#nexts + 1] = now + recheck
    elseif #nexts == 0 and (num(h[3]) > 0 or num(h[4]) > 0) and now - num(h[5]) <= ttl then nexts[#nexts + 1] = num(h[5]) + ttl + 1 end
    if #nexts == 0 then
      delete_channel(name)
    else
      redis.call('ZADD', P .. 'due', math.min(unpack(nexts)), name)
    end
  end
end
return out
`);
