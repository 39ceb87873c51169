// Package suite runs skiff's benchmark: it starts the bench app and one or
// more sidecars (skiffd, and daprd when given), measures binary size, idle
// memory and startup time, then runs every scenario at every connection
// count, rounds interleaved so that targets and scenarios alternate, and
// reports medians.
//
// Placement is deliberate: the load generator (this process) is pinned to
// its CPUs only after the children are started, and each child's CPU mask is
// set explicitly, so nothing inherits the generator's pinning by accident.
//
// Ownership: the suite owns the processes it starts and stops them, by pid,
// before Run returns. Results handed back are not touched afterwards.
package suite
