// Package secrets is the secrets building block: daprd 1.18's
// GET /v1.0/secrets/{store}/{key} and GET /v1.0/secrets/{store}/bulk over
// the secret stores skiffd built, with the --config secret scopes
// (allowedSecrets, deniedSecrets, defaultAccess) applied as daprd does.
//
// The block owns the Store interface its components implement
// (blocks/secrets/local has secretstores.local.file and
// secretstores.local.env) and the error answers of these routes.
//
// Buffer lifetimes: the routes are Inline. For a store that answers from
// memory (NonBlocking) the handler runs on the event loop with views into
// the read buffer, and turns the store name, key and metadata into Go
// strings and maps before anything else; for any other store it Offloads
// to the worker pool, which works on a private copy of the request. A Store
// must not keep the maps it is given; the maps it returns are the caller's.
package secrets
