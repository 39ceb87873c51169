// Package local holds the secret stores that read the sidecar's own host:
// secretstores.local.file (a JSON file read once at start) and
// secretstores.local.env (the process environment), with the metadata and
// answers of Dapr's components-contrib versions.
//
// Both keep nothing from their callers: the maps they return are fresh
// copies the caller owns.
package local
