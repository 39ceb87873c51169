// Package redis is bindings.redis: an output binding over a Redis server
// with daprd's operations and layout. create stores the request's data
// (the JSON daprd hands over, so a JSON string keeps its quotes) as a plain
// string at metadata "key", with an expiry from metadata "ttlInSeconds";
// get reads it back (GETDEL when metadata "delete" is "true"; a missing key
// answers an empty body); delete removes it; increment is INCR (with the
// same optional expiry). Connection metadata are Dapr's Redis names
// (redisHost, redisPort, redisPassword, redisDB, enableTLS, …), parsed by
// blocks/internal/redisconn, which connects in the background: a Redis
// that is down at startup fails requests and healthz until it answers.
//
// Differences from daprd: create is SET … EX in one command (daprd sends
// SET then EXPIRE), and a bad ttlInSeconds is refused before anything is
// written (daprd writes the value, then fails).
//
// Buffer lifetimes: Invoke copies what it keeps of req (rueidis commands
// are built from Go strings); the response's Data is fresh.
package redis
