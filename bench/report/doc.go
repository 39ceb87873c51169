// Package report renders load-generator results: a plain-text table for
// people, JSON for machines, and a hand-written SVG plot of latency against
// percentile (x on a log scale of 1/(1-p), the HdrHistogram convention) with
// several runs overlaid.
//
// Ownership: renderers only read the results they are given.
package report
