package mqtt3

import (
	"testing"
)

func TestParse(t *testing.T) {
	o, err := Parse(map[string]string{"URL": "tcp://h:1883", "topic": "t", "consumerID": "c", "retain": "true", "cleanSession": "true", "backOffMaxRetries": "-1", "qos": "2"})
	if err != nil {
		t.Fatal(err)
	}
	if o.URL != "tcp://h:1883" || o.Topic != "t" || o.ClientID != "c" || !o.Retain || !o.CleanSession || o.BackOffMaxRetries != -1 {
		t.Fatalf("%+v", o)
	}
	o, err = Parse(map[string]string{"url": "tcp://h:1883", "topic": "t", "consumerID": "c"})
	if err != nil || o.Retain || o.CleanSession || o.BackOffMaxRetries != 0 {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	for md, want := range map[string]map[string]string{
		"missing url":                    {"topic": "t", "consumerID": "c"},
		"missing topic":                  {"url": "tcp://h:1", "consumerID": "c"},
		"missing consumerID":             {"url": "tcp://h:1", "topic": "t"},
		"invalid ca certificate":         {"url": "tcp://h:1", "topic": "t", "consumerID": "c", "caCert": "x"},
		"invalid client certificate":     {"url": "tcp://h:1", "topic": "t", "consumerID": "c", "clientCert": "x"},
		"invalid client certificate key": {"url": "tcp://h:1", "topic": "t", "consumerID": "c", "clientKey": "x"},
	} {
		if _, err := Parse(want); err == nil || err.Error() != md {
			t.Errorf("%v: %v, want %q", want, err, md)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("tcp://h:1883", "t", "c", "true", "-1")
	f.Add("mqtts://u:p@h", "a/#", "x", "0", "3")
	f.Add("%zz", "", "", "", "")
	f.Fuzz(func(t *testing.T, url, topic, id, retain, retries string) {
		o, err := Parse(map[string]string{"url": url, "topic": topic, "consumerID": id, "retain": retain, "backOffMaxRetries": retries})
		if err == nil && (o.URL == "" || o.Topic == "" || o.ClientID == "") {
			t.Fatalf("accepted %+v", o)
		}
	})
}
