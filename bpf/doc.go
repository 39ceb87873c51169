// SPDX-License-Identifier: Apache-2.0

// Package bpf holds skiff's eBPF programs (c/redirect.c) and the Go loaders
// bpf2go generated from them (skiff_bpfel.go, skiff_bpfel.o: little-endian
// only). The generated files are committed, so a clone builds without clang;
// `make generate` rebuilds them with Debian's clang and `make bpf-check`
// (part of `make test`) fails when they no longer match c/redirect.c.
//
// Only dataplane/redirect imports this package. Nothing here holds buffers.
package bpf

// The flags are fixed so that the object is reproducible: -g is needed for
// BTF (map definitions) and bpf2go strips the DWARF sections afterwards;
// the include path is Debian's multiarch one for <asm/types.h>.
//go:generate go tool bpf2go -target bpfel -type counters -type sock_key -cc clang -cflags "-O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu" Skiff c/redirect.c
