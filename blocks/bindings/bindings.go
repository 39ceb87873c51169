package bindings

import "context"

// Operations daprd's components use (components-contrib OperationKind).
const (
	OpCreate = "create"
	OpGet    = "get"
	OpDelete = "delete"
	OpList   = "list"
)

// InvokeRequest is one call of an output binding.
type InvokeRequest struct {
	// Data is the request's "data" field re-encoded as JSON, as daprd hands
	// it over (a JSON string arrives with its quotes).
	Data      []byte
	Metadata  map[string]string // never nil
	Operation string
}

// InvokeResponse is an output binding's answer. A nil *InvokeResponse
// means "nothing to say": the route answers 204.
type InvokeResponse struct {
	Data     []byte
	Metadata map[string]string // sent back as metadata.* headers
}

// Output is an output binding component.
type Output interface {
	// Operations lists the operations Invoke accepts; the block refuses
	// any other before calling Invoke.
	Operations() []string
	// Invoke performs one operation. It may return a response together
	// with an error (bindings.http does on a non-2xx status); the error
	// wins.
	Invoke(ctx context.Context, req *InvokeRequest) (*InvokeResponse, error)
	Close() error
}

// ReadResponse is one event of an input binding.
type ReadResponse struct {
	Data     []byte
	Metadata map[string]string // sent to the app as request headers
}

// Handler delivers an event to the app and returns the app's answer body;
// a non-nil error means the app did not take the event (unreachable, or a
// non-2xx status), and a component that can redeliver should.
type Handler func(ctx context.Context, ev *ReadResponse) ([]byte, error)

// Input is an input binding component.
type Input interface {
	// Read starts delivering events to h and returns without waiting; it
	// stops when ctx ends or the component is closed. Events may be
	// delivered concurrently.
	Read(ctx context.Context, h Handler) error
	Close() error
}

// OutputEntry is a named output binding, as skiffd built it.
type OutputEntry struct {
	Name   string
	Output Output
}

// InputEntry is a named input binding. Route is the app path events are
// POSTed to: the component's "route" metadata, or "/"+Name.
type InputEntry struct {
	Name  string
	Route string
	Input Input
}
