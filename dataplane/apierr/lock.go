package apierr

// Distributed lock codes, as daprd 1.18's pkg/messages (legacy
// {"errorCode","message"} bodies). Empty resourceId/lockOwner and a
// non-positive expiryInSeconds answer Malformed (400).
var (
	LockStoreNotConfigured = &Error{500, "ERR_LOCK_STORE_NOT_CONFIGURED"}
	TryLock                = &Error{500, "ERR_TRY_LOCK"}
	Unlock                 = &Error{500, "ERR_UNLOCK"}
)
