// Package cron is bindings.cron: an input binding that fires on a
// schedule. The schedule is parsed as Dapr's cron binding parses it
// (robfig/cron with optional seconds and descriptors): "@every 1s",
// "@daily", "0 30 * * * *", "*/5 * * * *", "CRON_TZ=Europe/Paris 0 9 * * *".
//
// Each firing runs on the scheduler's own goroutine; the event carries no
// data and the metadata timeZone and readTimeUTC, as in Dapr.
//
// Buffer lifetimes: nothing is shared with callers; each event's metadata
// map is fresh and belongs to the handler.
package cron
