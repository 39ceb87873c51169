package resources

import (
	"fmt"
	"github.com/skiffd/skiff/blocks/internal/uuid"
	"os"
	"strings"
)

// Options are what loading needs to know about the running sidecar.
type Options struct {
	AppID string
	// Namespace is NAMESPACE from the environment. When set, resources of
	// another namespace are skipped, and {namespace} expands to
	// "Namespace.AppID" (daprd expands it to ".AppID" when it is empty).
	Namespace string
	// PodName is POD_NAME from the environment; {podName} needs it.
	PodName string
	// Getenv reads environment variables for envRef and DAPR_ENV_KEYS;
	// nil reads nothing.
	Getenv func(string) string
}

// OptionsFromEnv returns the options daprd would use for appID, read from
// this process's environment.
func OptionsFromEnv(appID string) Options {
	return Options{
		AppID:     appID,
		Namespace: os.Getenv("NAMESPACE"),
		PodName:   os.Getenv("POD_NAME"),
		Getenv:    os.Getenv,
	}
}

func (o Options) getenv(key string) string {
	if o.Getenv == nil {
		return ""
	}
	return o.Getenv(key)
}

// Expand replaces the placeholders daprd expands in component metadata
// values: each {uuid} with a new random UUID, {podName}, {namespace} (as
// "namespace.appID") and {appID}. name is the metadata item, for the error
// daprd gives when {podName} is used but unknown.
func (o Options) Expand(name, value string) (string, error) {
	for strings.Contains(value, "{uuid}") {
		value = strings.Replace(value, "{uuid}", uuid.New(), 1)
	}
	if strings.Contains(value, "{podName}") {
		if o.PodName == "" {
			return "", fmt.Errorf("property %s refers to {podName} but podName is not set", name)
		}
		value = strings.ReplaceAll(value, "{podName}", o.PodName)
	}
	value = strings.ReplaceAll(value, "{namespace}", o.Namespace+"."+o.AppID)
	value = strings.ReplaceAll(value, "{appID}", o.AppID)
	return value, nil
}

// envAllowed says whether envRef may read key, with daprd's rules: never
// DAPR_* nor APP_API_TOKEN, and, when DAPR_ENV_KEYS is set, only the
// space-separated names it lists.
func (o Options) envAllowed(key string) bool {
	up := strings.ToUpper(key)
	switch {
	case up == "", up == "APP_API_TOKEN", strings.HasPrefix(up, "DAPR_"), strings.Contains(up, " "):
		return false
	}
	allow := o.getenv("DAPR_ENV_KEYS")
	if allow == "" {
		return true
	}
	for _, k := range strings.Fields(allow) {
		if k == up {
			return true
		}
	}
	return false
}
