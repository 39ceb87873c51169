package conformance

import (
	"os"
	"strconv"
)

func getenv(k string) string { return os.Getenv(k) }
func itoa(n int) string      { return strconv.Itoa(n) }
