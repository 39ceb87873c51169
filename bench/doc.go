// Package bench holds skiff's benchmark tooling; this file only documents
// it. The work is in the sub-packages:
//
//   - loadgen: the HTTP/1.1 load generator (closed and open loop, HDR
//     histograms, sidecar CPU and memory from /proc);
//   - proc: /proc parsing and CPU placement;
//   - report: text table, JSON and SVG percentile plots;
//   - sink: a trivial gnet server for measuring the generator's ceiling;
//   - suite: starts the bench app and the sidecars and runs every scenario.
//
// The binaries are cmd/skiff-bench (generator, suite, sink) and
// cmd/skiff-benchapp (the app behind the sidecar). bench/run.sh builds them
// with skiffd and runs the suite; README.md says how to point it at daprd.
//
// Ownership: bench/ is owned by the benchmark helper, except RESULTS.md,
// which the lead fills from the suite's output in bench/out/.
package bench
