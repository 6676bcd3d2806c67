// Package metrics serves a mount's metrics (--metrics-addr): Prometheus's
// text format at /metrics, read at each scrape from the counters remote
// and cache keep themselves (remote.Observer.Stats, cache.Store.Stats);
// neither package knows of Prometheus. A mount of several locations
// (agency mode) reports their sum. No label holds an id, a name, a url or
// a token: endpoints are route templates ("GET /medias/files",
// "POST /medias/{id}"). The command tells a Server its libraries' counters
// (Server.SetSources) once they are open.
//
// A Server runs one goroutine, stopped by Close; it holds no lock (the
// sources are swapped whole, atomically).
package metrics
