// Package wire is what HighLevel's answers look like to every package
// that reads them (the media client, package ghl, and the OAuth grants,
// package oauth): where the service is and which Version it is asked
// for, its error bodies (NestJS's shape) and the causes read from them,
// and its rate-limit headers (errors.go). It owns no state and no locks.
package wire

// Defaults of the real service.
const (
	DefaultBaseURL = "https://services.leadconnectorhq.com"
	APIVersion     = "2021-07-28"
)
