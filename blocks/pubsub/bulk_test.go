package pubsub

import (
	"strings"
	"testing"
)

func TestParseBulkPublish(t *testing.T) {
	entries, f := ParseBulkPublish([]byte(`[
		{"entryId":"1","event":{"a": 1},"contentType":"application/json"},
		{"entryId":"2","event":"hi","contentType":"text/plain","metadata":{"k":"entry"}},
		{"entryId":"3","event":"AAE=","contentType":"application/octet-stream"},
		{"entryId":"4","event":{"id":"x"},"contentType":"application/cloudevents+json"}]`), "t", "ps", map[string]string{"k": "req", "r": "1"})
	if f != nil {
		t.Fatal(f.Msg)
	}
	if string(entries[0].Event) != `{"a":1}` || entries[0].Metadata != nil {
		t.Errorf("json entry %s %v", entries[0].Event, entries[0].Metadata)
	}
	if string(entries[1].Event) != "hi" || entries[1].Metadata["k"] != "entry" || entries[1].Metadata["r"] != "1" {
		t.Errorf("text entry %s %v", entries[1].Event, entries[1].Metadata)
	}
	if string(entries[2].Event) != "\x00\x01" {
		t.Errorf("binary entry %q", entries[2].Event)
	}
	if string(entries[3].Event) != `{"id":"x"}` || entries[3].EntryID != "4" {
		t.Errorf("cloudevent entry %s", entries[3].Event)
	}
	for _, c := range []struct{ body, code, msg string }{
		{`{`, "ERR_PUBSUB_EVENTS_SER", "error when unmarshaling the request for topic t pubsub ps"},
		{`{}`, "ERR_PUBSUB_EVENTS_SER", "cannot unmarshal"},
		{`[{"event":"x","contentType":"text/plain"}]`, "ERR_PUBSUB_EVENTS_SER", "entryId is duplicated or not present"},
		{`[{"entryId":"1","event":1,"contentType":"text/plain"}]`, "ERR_PUBSUB_CLOUD_EVENTS_SER", "marshalling cloud event envelope"},
		{`[{"entryId":"1","event":"x","contentType":"image/png"}]`, "ERR_PUBSUB_CLOUD_EVENTS_SER", ""},
		{`[{"entryId":"1","event":"%%","contentType":"application/octet-stream"}]`, "ERR_PUBSUB_CLOUD_EVENTS_SER", ""},
	} {
		_, f := ParseBulkPublish([]byte(c.body), "t", "ps", nil)
		if f == nil || f.Err.Code != c.code || !strings.Contains(f.Msg, c.msg) {
			t.Errorf("%s: %+v, want %s %q", c.body, f, c.code, c.msg)
		}
	}
}

func TestAppendBulkFailure(t *testing.T) {
	got := string(AppendBulkFailure(nil, []BulkFailure{{EntryID: "a", Err: ErrQueueFull}, {EntryID: "b\""}}))
	want := `{"failedEntries":[{"entryId":"a","error":"queue is full"},{"entryId":"b\""}],"errorCode":"ERR_PUBSUB_PUBLISH_MESSAGE"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestQueryMetadata(t *testing.T) {
	md := queryMetadata([]byte("a=1&metadata.rawPayload=true&metadata.k%20x=v+w&metadata.rawPayload=false&metadata.=x&bad;=1&metadata.e=%zz"))
	if len(md) != 2 || md["rawPayload"] != "true" || md["k x"] != "v w" {
		t.Errorf("%v", md)
	}
	if queryMetadata(nil) != nil || queryMetadata([]byte("x=1")) != nil {
		t.Errorf("metadata from nothing")
	}
}
