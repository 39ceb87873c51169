package apierr

// Pub/sub codes daprd 1.18 answers with (pkg/api/errors/pubsub.go), besides
// PubsubNotFound, PubsubNotConfigured and PubsubForbidden in apierr.go.
var (
	PubsubEmpty           = &Error{404, "ERR_PUBSUB_EMPTY"}
	TopicEmpty            = &Error{404, "ERR_TOPIC_EMPTY"}
	PubsubRequestMetadata = &Error{400, "ERR_PUBSUB_REQUEST_METADATA"}
	PubsubPublishMessage  = &Error{500, "ERR_PUBSUB_PUBLISH_MESSAGE"}
	PubsubCloudEventsSer  = &Error{500, "ERR_PUBSUB_CLOUD_EVENTS_SER"}
	PubsubEventsSer       = &Error{400, "ERR_PUBSUB_EVENTS_SER"}
	// PubsubNotFoundPublish is the adapter's own "not found" (400), distinct
	// from the route validation's 404.
	PubsubNotFoundPublish = &Error{400, "ERR_PUBSUB_NOT_FOUND"}
)
