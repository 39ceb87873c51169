// Package jsonscan checks JSON syntax without building values: Validate
// reads the first value as encoding/json's Decoder does (its error texts,
// trailing bytes ignored), Valid answers as encoding/json.Valid, End finds
// where a valid value ends, AppendCompact drops insignificant whitespace.
// It is the first pass of the blocks' hand-written request readers and the
// check on every event a broker hands to pub/sub.
//
// Buffer lifetimes: nothing is kept; inputs are only read during the call.
// No function allocates on valid input (an error allocates its message).
package jsonscan
