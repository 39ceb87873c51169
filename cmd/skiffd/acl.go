package main

import (
	"log/slog"

	"github.com/skiffd/skiff/blocks/acl"
	"github.com/skiffd/skiff/blocks/resources"
)

// compileACL compiles Configuration spec.accessControl at startup: a bad
// spec stops skiffd as it stops daprd. The list applies to calls from other
// apps' sidecars, which skiffd does not receive yet (daprd does not apply
// it to an app calling itself), so it is not consulted on any route yet.
func compileACL(conf *resources.Configuration, log *slog.Logger) (*acl.List, error) {
	l, err := acl.Compile(conf.Spec.AccessControl)
	if err != nil {
		return nil, err
	}
	if s := conf.Spec.AccessControl; s != nil && len(s.Policies) > 0 {
		log.Warn("access control policies compiled; they apply to calls from other apps, which skiffd does not receive yet", "defaultAction", l.DefaultAction)
	}
	return l, nil
}
