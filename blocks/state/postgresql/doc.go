// Package postgresql is the state.postgresql component (alias
// state.postgres): a state store on PostgreSQL with daprd 1.18's schema, so
// that data written by either sidecar reads back through the other.
//
// Schema (created by the same numbered migrations as daprd, recorded in the
// metadata table under "migrations"): table "state" (key text primary key,
// value jsonb, isbinary boolean, insertdate, updatedate, expiredate,
// row_id identity with a unique index) and table "dapr_metadata" (key,
// value). The ETag is the row's xmin. A save without etag is an upsert
// (first-write only replaces an expired row); with an etag it is an UPDATE
// that matches xmin. Reads ignore expired rows; a background job deletes them
// every cleanupIntervalInSeconds, coordinated with other sidecars through
// the "last-cleanup" row of the metadata table, as daprd does. Values that
// are not JSON are stored base64-encoded as a JSON string with isbinary set.
//
// Buffer lifetimes: keys, values and metadata from the block are used only
// during the call (pgx copies query parameters before it returns). Values
// returned to the block are fresh allocations.
package postgresql
