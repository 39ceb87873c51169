package configuration

import (
	"context"
	"io"

	"github.com/skiffd/skiff/dataplane/appchannel"
)

// AppChannel delivers updates through the sidecar's pooled app channel.
type AppChannel struct{ Client *appchannel.Client }

// Post sends body as a JSON POST to path and returns the app's status.
func (d AppChannel) Post(ctx context.Context, path string, body []byte) (int, error) {
	req := appchannel.Request{Method: []byte("POST"), Path: []byte(path), Body: body}
	req.AddHeaderString("Content-Type", "application/json")
	var resp appchannel.Response
	if err := d.Client.Do(ctx, &req, &resp); err != nil {
		return 0, err
	}
	if resp.BodyStream != nil {
		_, _ = io.Copy(io.Discard, resp.BodyStream)
	}
	st := resp.Status
	_ = resp.Close()
	return st, nil
}
