// Package localstorage is bindings.localstorage: an output binding that
// creates, reads, lists and deletes files under rootPath, as Dapr's does
// (create: data that is a JSON string is unquoted, and data that then
// decodes as standard base64 is stored decoded, Dapr's documented
// "automatic base64 detection"; fileName metadata, a random UUID for a
// create without one; list: the absolute paths of the files under the
// given directory).
//
// Unlike Dapr, which clamps a fileName that climbs out of rootPath back
// inside it, skiff refuses it: a fileName whose path leaves rootPath, by
// ".." or through a symbolic link, is an error.
//
// Buffer lifetimes: Invoke reads req.Data and req.Metadata only until it
// returns; the response's Data is fresh and the caller's.
package localstorage
