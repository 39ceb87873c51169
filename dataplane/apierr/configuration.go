package apierr

// Configuration codes, as daprd 1.18's HTTP API answers them (legacy
// {"errorCode","message"} bodies).
var (
	ConfigurationStoreNotConfigured = &Error{500, "ERR_CONFIGURATION_STORE_NOT_CONFIGURED"}
	ConfigurationStoreNotFound      = &Error{400, "ERR_CONFIGURATION_STORE_NOT_FOUND"}
	ConfigurationGet                = &Error{500, "ERR_CONFIGURATION_GET"}
	ConfigurationSubscribe          = &Error{500, "ERR_CONFIGURATION_SUBSCRIBE"}
	ConfigurationUnsubscribe        = &Error{500, "ERR_CONFIGURATION_UNSUBSCRIBE"}
	AppChannelNil                   = &Error{500, "ERR_APP_CHANNEL_NIL"}
)
