package apierr

// Secrets codes not in apierr.go (daprd's pkg/messages/errorcodes).
var (
	SecretPermissionDenied = &Error{403, "ERR_PERMISSION_DENIED"}
	SecretGet              = &Error{500, "ERR_SECRET_GET"}
)
