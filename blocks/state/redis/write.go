package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/state"
)

// The scripts keep daprd's rules (components-contrib state/redis):
//   - a save succeeds when the key has no version (absent, or not a hash: it
//     is replaced), when the version equals the expected one, or when no
//     version is expected ("0") and the key was not written with
//     first-write; it writes data, marks first-write when asked, and bumps
//     version with HINCRBY;
//   - a delete succeeds when the key has no version, when it matches, or
//     when no version is expected.
// Unlike daprd, the TTL is applied inside the save script, so a save and its
// expiry are one atomic step.

// setScript: KEYS[1]; ARGV: expected version ("0": none), data,
// first-write ("0": yes), ttl ("" keep, > 0 expire, <= 0 persist).
var setScript = rueidis.NewLuaScript(`
local k = KEYS[1]
local cur = redis.pcall("HGET", k, "version")
if type(cur) == "table" then
  redis.call("DEL", k)
  cur = false
end
local fw = redis.pcall("HGET", k, "first-write")
if type(fw) == "table" then fw = false end
if cur and cur ~= "" and cur ~= ARGV[1] and not ((not fw) and ARGV[1] == "0") then
  return redis.error_reply("failed to set key " .. k)
end
redis.call("HSET", k, "data", ARGV[2])
if ARGV[3] == "0" then
  redis.call("HSET", k, "first-write", 0)
end
local v = redis.call("HINCRBY", k, "version", 1)
if ARGV[4] ~= "" then
  local t = tonumber(ARGV[4])
  if t > 0 then redis.call("EXPIRE", k, t) else redis.call("PERSIST", k) end
end
return v
`)

// delScript: KEYS[1]; ARGV[1]: expected version ("0": none).
var delScript = rueidis.NewLuaScript(`
local k = KEYS[1]
local cur = redis.pcall("HGET", k, "version")
if (not cur) or type(cur) == "table" or cur == "" or cur == ARGV[1] or ARGV[1] == "0" then
  return redis.call("DEL", k)
end
return redis.error_reply("failed to delete " .. k)
`)

// txScript runs a transaction: KEYS are the operations' keys, ARGV has five
// entries per operation: "s" or "d", expected version, data, first-write,
// ttl. Every check runs first (against the state the earlier operations
// leave), then every write: all or nothing.
var txScript = rueidis.NewLuaScript(`
local shadow = {}
local function current(k)
  local s = shadow[k]
  if s then return s.ver, s.fw end
  local v = redis.pcall("HGET", k, "version")
  if type(v) == "table" then v = false end
  local fw = redis.pcall("HGET", k, "first-write")
  if type(fw) == "table" then fw = false end
  return v, fw
end
for i = 1, #KEYS do
  local k, b = KEYS[i], (i - 1) * 5
  local want = ARGV[b + 2]
  local v, fw = current(k)
  if ARGV[b + 1] == "s" then
    if v and v ~= "" and v ~= want and not ((not fw) and want == "0") then
      return redis.error_reply("failed to set key " .. k)
    end
    if ARGV[b + 4] == "0" then fw = "0" end
    shadow[k] = {ver = tostring((tonumber(v) or 0) + 1), fw = fw}
  else
    if v and v ~= "" and v ~= want and want ~= "0" then
      return redis.error_reply("failed to delete " .. k)
    end
    shadow[k] = {ver = false, fw = false}
  end
end
for i = 1, #KEYS do
  local k, b = KEYS[i], (i - 1) * 5
  if ARGV[b + 1] == "s" then
    local t = redis.call("TYPE", k)["ok"]
    if t ~= "hash" and t ~= "none" then redis.call("DEL", k) end
    redis.call("HSET", k, "data", ARGV[b + 3])
    if ARGV[b + 4] == "0" then redis.call("HSET", k, "first-write", 0) end
    redis.call("HINCRBY", k, "version", 1)
    if ARGV[b + 5] ~= "" then
      local ttl = tonumber(ARGV[b + 5])
      if ttl > 0 then redis.call("EXPIRE", k, ttl) else redis.call("PERSIST", k) end
    end
  else
    redis.call("DEL", k)
  end
end
return #KEYS
`)

// setArgs validates a save and returns the script's arguments after the
// key: expected version, data, first-write flag, ttl.
func (s *Store) setArgs(req *state.SetRequest) ([]string, error) {
	if err := req.Options.Check(); err != nil {
		return nil, err
	}
	ver := "0"
	if req.Options.Concurrency != state.LastWrite && req.ETag != "" {
		if _, err := strconv.Atoi(req.ETag); err != nil {
			return nil, state.NewETagError(state.ETagInvalid, err)
		}
		ver = req.ETag
	}
	fw := "1"
	if req.Options.Concurrency == state.FirstWrite {
		fw = "0"
	}
	ttl := ""
	if v := req.Metadata["ttlInSeconds"]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("failed to parse ttl from metadata: %w", err)
		}
		ttl = strconv.FormatInt(n, 10)
	} else if s.md.TTL != nil {
		ttl = strconv.FormatInt(*s.md.TTL, 10)
	}
	return []string{ver, string(req.Value), fw, ttl}, nil
}

// scriptError reports whether err is the script refusing the write (an etag
// or first-write conflict), as opposed to a connection problem.
func scriptError(err error) bool {
	_, ok := rueidis.IsRedisErr(err)
	return ok && !rueidis.IsRedisNil(err)
}

func (s *Store) setResult(req *state.SetRequest, err error) error {
	if err == nil {
		return nil
	}
	if scriptError(err) {
		if req.ETag != "" {
			return state.NewETagError(state.ETagMismatch, err)
		}
		return fmt.Errorf("failed to set key %s: %w", req.Key, err)
	}
	return fmt.Errorf("redis store: %w", err)
}

// Set saves one key.
func (s *Store) Set(ctx context.Context, req *state.SetRequest) error {
	args, err := s.setArgs(req)
	if err != nil {
		return err
	}
	err = setScript.Exec(ctx, s.client, []string{req.Key}, args).Error()
	return s.setResult(req, err)
}

// BulkSet saves every key in one pipeline; not atomic (daprd's contract).
func (s *Store) BulkSet(ctx context.Context, reqs []state.SetRequest) error {
	var errs []error
	execs := make([]rueidis.LuaExec, 0, len(reqs))
	idx := make([]int, 0, len(reqs))
	for i := range reqs {
		args, err := s.setArgs(&reqs[i])
		if err != nil {
			errs = append(errs, &state.BulkStoreError{Key: reqs[i].Key, Err: err})
			continue
		}
		execs = append(execs, rueidis.LuaExec{Keys: []string{reqs[i].Key}, Args: args})
		idx = append(idx, i)
	}
	if len(execs) > 0 {
		for j, r := range setScript.ExecMulti(ctx, s.client, execs...) {
			req := &reqs[idx[j]]
			if err := s.setResult(req, r.Error()); err != nil {
				errs = append(errs, &state.BulkStoreError{Key: req.Key, Err: err})
			}
		}
	}
	return errors.Join(errs...)
}

// Delete removes one key, comparing its version when an etag is given.
func (s *Store) Delete(ctx context.Context, req *state.DeleteRequest) error {
	if err := req.Options.Check(); err != nil {
		return err
	}
	ver := req.ETag
	if ver == "" {
		ver = "0"
	}
	err := delScript.Exec(ctx, s.client, []string{req.Key}, []string{ver}).Error()
	if err == nil {
		return nil
	}
	if scriptError(err) {
		return state.NewETagError(state.ETagMismatch, err)
	}
	return fmt.Errorf("redis store: %w", err)
}

// Multi runs the operations atomically in one script.
func (s *Store) Multi(ctx context.Context, req *state.TransactionRequest) error {
	keys := make([]string, 0, len(req.Operations))
	args := make([]string, 0, 5*len(req.Operations))
	for _, op := range req.Operations {
		switch {
		case op.Set != nil:
			a, err := s.setArgs(op.Set)
			if err != nil {
				return err
			}
			// daprd's transactions never pass first-write to the script.
			keys = append(keys, op.Set.Key)
			args = append(args, "s", a[0], a[1], "1", a[3])
		case op.Delete != nil:
			if err := op.Delete.Options.Check(); err != nil {
				return err
			}
			ver := op.Delete.ETag
			if ver == "" {
				ver = "0"
			}
			keys = append(keys, op.Delete.Key)
			args = append(args, "d", ver, "", "", "")
		}
	}
	if len(keys) == 0 {
		return nil
	}
	err := txScript.Exec(ctx, s.client, keys, args).Error()
	if err == nil {
		return nil
	}
	if scriptError(err) {
		return state.NewETagError(state.ETagMismatch, err)
	}
	return fmt.Errorf("redis store: %w", err)
}
