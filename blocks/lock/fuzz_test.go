package lock

import "testing"

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"resourceId":"r","lockOwner":"o","expiryInSeconds":5}`,
		`{"expiry_in_seconds":"7"}`, `{"resourceId":null}`, `{"x":[1,{"y":2}]}`, `[`, `{"a":1}{`, `1e5`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseRequest(body)
		if err == nil && req == nil {
			t.Fatal("nil request without error")
		}
	})
}
