package bindings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// API is the output side of the block.
type API struct {
	outputs map[string]Output
}

// New builds the block over the output bindings.
func New(outputs []OutputEntry) (*API, error) {
	a := &API{outputs: make(map[string]Output, len(outputs))}
	for _, o := range outputs {
		if _, dup := a.outputs[o.Name]; dup {
			return nil, fmt.Errorf("bindings: output binding %q defined twice", o.Name)
		}
		a.outputs[o.Name] = o.Output
	}
	return a, nil
}

// Names returns the output binding names, sorted.
func (a *API) Names() []string {
	n := make([]string, 0, len(a.outputs))
	for k := range a.outputs {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// OutputBindingRequest is the body of POST /v1.0/bindings/{name}. The type
// name shows in encoding/json's type errors, as it does in daprd's.
type OutputBindingRequest struct {
	Metadata  map[string]string `json:"metadata"`
	Data      any               `json:"data"`
	Operation string            `json:"operation"`
}

// ParseRequest decodes the route's body as daprd does (encoding/json into
// OutputBindingRequest, then data re-encoded as JSON).
func ParseRequest(body []byte) (*InvokeRequest, error) {
	var r OutputBindingRequest
	if err := json.Unmarshal(body, &r); err != nil {
		// daprd's type lives in its package http: name it as daprd does.
		return nil, errors.New(strings.Replace(err.Error(), "type bindings.OutputBindingRequest", "type http.OutputBindingRequest", 1))
	}
	data, err := json.Marshal(r.Data)
	if err != nil {
		return nil, err
	}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	return &InvokeRequest{Data: data, Metadata: r.Metadata, Operation: r.Operation}, nil
}

// Invoke is daprd's SendToOutputBinding: the operation must be set and be
// one the binding lists.
func (a *API) Invoke(ctx context.Context, name string, req *InvokeRequest) (*InvokeResponse, *Error) {
	if req.Operation == "" {
		return nil, errInvoke(name, errors.New("operation field is missing from request"))
	}
	out, ok := a.outputs[name]
	if !ok {
		return nil, errInvoke(name, fmt.Errorf("couldn't find output binding %s", name))
	}
	ops := out.Operations()
	supported := false
	for _, o := range ops {
		if o == req.Operation {
			supported = true
			break
		}
	}
	if !supported {
		return nil, errInvoke(name, fmt.Errorf("binding %s does not support operation %s. supported operations:%s", name, req.Operation, strings.Join(ops, " ")))
	}
	resp, err := out.Invoke(ctx, req)
	if err != nil {
		return nil, errInvoke(name, err)
	}
	return resp, nil
}
