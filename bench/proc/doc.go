// Package proc reads what the benchmark needs from Linux's /proc (a process's
// CPU time, resident memory, allowed CPUs) and places processes on CPUs.
//
// Ownership: every function reads or writes the kernel's view of a process
// once and returns plain values; nothing is cached and nothing returned
// aliases an internal buffer.
package proc
