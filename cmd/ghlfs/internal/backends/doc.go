// Package backends is each backend's settings and construction, as the
// ghlfs command reads them: which backends there are and the flags each
// takes (backends.go); the settings a mount reads after its flags, from
// the environment, then the config file, and the secrets it reads from
// files only their owner may read (settings.go); HighLevel's credentials,
// a Private Integration Token or ghlfs login's OAuth token set, and its
// client (ghl.go); ImageKit's key, hosts and url endpoint (imagekit.go);
// OCM's instance, root folder and its four ways to authenticate, and
// their flags (ocm.go); and how a library is named in its cache dir and
// in ghlfs status (identity.go).
//
// The command (cmd/ghlfs) keeps its flags, the config file, signals and
// the log: it hands this package the config file's settings and the
// layers' options it made of the flags, and gets back a
// remote.Backend and the ID that names its library. Nothing here reads a
// flag set but the OCM flags' registration (OCMFlags.Register).
//
// It holds no locks and starts no goroutine: a Credentials' token file is
// opened once (Credentials.TokenFile), before an agency's locations are
// opened side by side, and only read from then on.
package backends
