package invoke

import (
	"encoding/hex"
)

// Trace context between sidecars travels as gRPC metadata: daprd sends
// grpc-trace-bin (OpenCensus binary: version 0, field 0 trace id, field 1
// span id, field 2 options) and reads it or traceparent on arrival. We send
// both and read either.

// traceBin encodes a W3C traceparent ("00-<trace>-<span>-<flags>") as
// grpc-trace-bin; ok is false for a malformed one.
func traceBin(tp string) (string, bool) {
	if len(tp) != 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' {
		return "", false
	}
	var b [29]byte
	b[1] = 0
	if _, err := hex.Decode(b[2:18], []byte(tp[3:35])); err != nil {
		return "", false
	}
	b[18] = 1
	if _, err := hex.Decode(b[19:27], []byte(tp[36:52])); err != nil {
		return "", false
	}
	b[27] = 2
	if _, err := hex.Decode(b[28:29], []byte(tp[53:55])); err != nil {
		return "", false
	}
	return string(b[:]), true
}

// traceparentFromBin decodes grpc-trace-bin into a traceparent.
func traceparentFromBin(bin string) (string, bool) {
	b := []byte(bin)
	if len(b) < 29 || b[0] != 0 || b[1] != 0 || b[18] != 1 || b[27] != 2 {
		return "", false
	}
	return "00-" + hex.EncodeToString(b[2:18]) + "-" + hex.EncodeToString(b[19:27]) + "-" + hex.EncodeToString(b[28:29]), true
}
