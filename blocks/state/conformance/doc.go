// Package conformance is the test suite every state store runs (in-memory,
// Redis, PostgreSQL): value round-trips, etags, first-write, TTL, bulk
// reads and writes, transactions and deletes, through the state.Store
// interface. Stores call Run from their own tests with a fresh store; every
// test uses keys under a unique prefix and deletes them afterwards, because
// the backends are shared by every test run on the machine.
//
// Service lookup: Service returns the address in an environment variable
// (set by .ci/services.sh) or a default; when the service does not answer the
// test is skipped, except with CI=true, where it fails.
//
// Buffer lifetimes: the suite hands the store fresh slices for every call
// and never reuses them, so it does not test a store's copying; the block's
// own tests do.
package conformance
