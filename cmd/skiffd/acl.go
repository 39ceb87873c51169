package main

import (
	"log/slog"

	"github.com/skiffd/skiff/blocks/acl"
	"github.com/skiffd/skiff/blocks/resources"
)

// compileACL compiles Configuration spec.accessControl at startup: a bad
// spec stops skiffd as it stops daprd. The list applies to calls from other
// apps' sidecars (the internal gRPC port, invoke_remote.go), not to our app
// calling itself, as in daprd.
func compileACL(conf *resources.Configuration, log *slog.Logger) (*acl.List, error) {
	l, err := acl.Compile(conf.Spec.AccessControl)
	if err != nil {
		return nil, err
	}
	if s := conf.Spec.AccessControl; s != nil && len(s.Policies) > 0 {
		// As daprd without mTLS: the caller's identity cannot be proven, so
		// only the global default action decides.
		log.Warn("access control app policies need the caller's mTLS identity, which skiffd does not have (as daprd without mTLS): only the global defaultAction applies", "defaultAction", l.DefaultAction)
	}
	return l, nil
}
