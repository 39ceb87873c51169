package apierr

// Bindings codes not in apierr.go (daprd's pkg/messages/errorcodes).
var (
	InvokeOutputBinding = &Error{500, "ERR_INVOKE_OUTPUT_BINDING"}
)
