// Package resources reads Dapr resource YAML: the files in each
// --resources-path directory (Component, Subscription, Configuration,
// Resiliency, HTTPEndpoint documents) and the --config files.
//
// It follows daprd 1.18 in standalone mode:
//
//   - Each directory is read without recursion; only *.yaml and *.yml files
//     (any case) are read, in name order; other files produce a warning.
//     A directory that cannot be read (missing, not a directory) is an error.
//   - A file may hold several documents separated by "---". Documents of a
//     kind skiff does not know are skipped with a warning.
//   - Component metadata values are stringified the way daprd does: daprd
//     converts YAML to JSON with YAML 1.1 rules (so yes/no/on/off are
//     booleans, 0777 is octal) and hands a component the JSON text, unquoted
//     when it is a string: 5 becomes "5", true "true", a map its JSON.
//   - Keys of resource documents match case-insensitively, as encoding/json
//     (which daprd decodes resources with) does. --config files are decoded
//     with yaml.v3 by daprd, so there they are case-sensitive.
//   - envRef (a metadata item read from an environment variable) is resolved
//     at load time; {uuid}, {podName}, {namespace} and {appID} in metadata
//     values are expanded at load time. secretKeyRef items are recorded for
//     the secret store resolution that happens later; resolved secret values
//     must be passed through Options.Expand, as daprd expands after it
//     resolves secrets.
//   - Resources whose scopes do not list the app id are skipped and reported
//     in Set.Skipped; so are resources of another namespace when NAMESPACE is
//     set.
//
// Where skiff is stricter than daprd: daprd logs and ignores a broken YAML
// document, a document whose name is invalid, or a metadata item without a
// name; skiff refuses to start and names the file and line, so a typo does
// not turn into a missing component at run time.
//
// Nothing here runs on a request path: clarity over speed.
package resources
