package mqtt3

import "testing"

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(map[string]string{"url": "tcp://localhost:1883", "consumerID": "c", "cleanSession": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if o.QoS != 1 || o.Retain || !o.CleanSession {
		t.Fatalf("%+v", o)
	}
	for _, bad := range []map[string]string{
		{"consumerID": "c"},
		{"url": "tcp://x"},
		{"url": "tcp://x", "consumerID": "c", "qos": "3"},
		{"url": "tcp://x", "consumerID": "c", "retain": "often"},
		{"url": "tcp://x", "consumerID": "c", "caCert": "not pem"},
	} {
		if _, err := ParseOptions(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
