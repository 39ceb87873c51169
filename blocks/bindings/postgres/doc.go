// Package postgres is bindings.postgresql (daprd registers it as
// bindings.postgres; skiffd takes both names): an output binding that runs
// SQL on a pgx/v5 pool with daprd's operations. exec and query take the
// statement from metadata "sql" and its arguments from metadata "params",
// a JSON array; exec answers metadata rows-affected, query answers the rows
// as a JSON array of arrays (each row's values in column order, encoded by
// encoding/json from pgx's values, as daprd does); close closes the pool,
// after which every call fails. Every answer carries daprd's metadata
// operation, sql, start-time, end-time and duration.
//
// Component metadata: connectionString (or url, its alias in daprd and in
// older documentation), timeout (or timeoutInSeconds; a Go duration or
// seconds, default 20s, for connecting), maxConns and
// connectionMaxIdleTime (0 or less: pgx's default, as daprd) and
// queryExecMode, as Dapr's. Azure AD and AWS IAM authentication are not
// supported.
//
// The pool connects in the background (blocks/internal/lazy): a database
// that is down at startup fails requests and healthz until it answers.
//
// Buffer lifetimes: Invoke reads req only until it returns (the SQL and
// its arguments are Go strings and decoded values); responses are fresh.
package postgres
