// Package bindings is the bindings building block: daprd 1.18's output
// route POST|PUT /v1.0/bindings/{name} and the delivery of input binding
// events to the app (OPTIONS /{route} to ask whether the app takes the
// binding, then POST /{route} per event through the app channel).
//
// It owns the component interfaces (Output, Input) that
// blocks/bindings/<component> packages implement: bindings.cron,
// bindings.http and bindings.localstorage here, and later Redis, PostgreSQL
// and MQTT, whose shapes they were drawn for (an Input's handler returns an
// error so a broker can nack; an Output lists its operations).
//
// Buffer lifetimes: the output route is Async, so its handler works on a
// private copy of the request; the InvokeRequest handed to a component
// (Data, Metadata) is owned by the call and the component may keep it.
// Input events are delivered on the component's goroutines, never on an
// event loop; the ReadResponse is the component's, and the handler copies
// nothing it keeps after returning.
package bindings
