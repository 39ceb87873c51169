//go:build !linux

package appchannel

// alive cannot peek portably; the retry rule in doc.go still applies.
func (cn *conn) alive() bool { return true }

func (cn *conn) peekOnce(fd uintptr) bool { return true }
