package http1

// MethodFromBytes identifies a method token (case-sensitive, as RFC 9110
// requires). Any other token is MethodOther.
func MethodFromBytes(b []byte) Method {
	switch len(b) {
	case 3:
		switch string(b) {
		case "GET":
			return MethodGet
		case "PUT":
			return MethodPut
		}
	case 4:
		switch string(b) {
		case "POST":
			return MethodPost
		case "HEAD":
			return MethodHead
		}
	case 5:
		switch string(b) {
		case "PATCH":
			return MethodPatch
		case "TRACE":
			return MethodTrace
		}
	case 6:
		if string(b) == "DELETE" {
			return MethodDelete
		}
	case 7:
		switch string(b) {
		case "OPTIONS":
			return MethodOptions
		case "CONNECT":
			return MethodConnect
		}
	}
	return MethodOther
}

// String returns the method name; "OTHER" for MethodOther.
func (m Method) String() string {
	switch m {
	case MethodGet:
		return "GET"
	case MethodHead:
		return "HEAD"
	case MethodPost:
		return "POST"
	case MethodPut:
		return "PUT"
	case MethodDelete:
		return "DELETE"
	case MethodPatch:
		return "PATCH"
	case MethodOptions:
		return "OPTIONS"
	case MethodTrace:
		return "TRACE"
	case MethodConnect:
		return "CONNECT"
	}
	return "OTHER"
}
