package main

import "testing"

// A library's identity keeps the API's port: two services on one host
// are two libraries (issue 16); credentials and a query stay out. The
// name earlier versions gave a loopback service, without its port, is
// known, for the records and listings saved under it.
func TestAPIIdentity(t *testing.T) {
	for _, c := range []struct{ url, id, legacy string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1"},
		{"http://127.0.0.1:8081/", "http://127.0.0.1:8081", "http://127.0.0.1"},
		{"http://localhost:9000/api", "http://localhost:9000/api", "http://localhost"},
		{"http://[::1]:9000", "http://[::1]:9000", "http://::1"},
		{"https://services.leadconnectorhq.com", "https://services.leadconnectorhq.com", ""},
		{"https://user:secret@api.example.com:8443/v1/?sig=x#f", "https://api.example.com:8443/v1", ""},
	} {
		if got := apiIdentity(c.url); got != c.id {
			t.Errorf("apiIdentity(%q) = %q, want %q", c.url, got, c.id)
		}
		if got := legacyAPIIdentity(c.url); got != c.legacy {
			t.Errorf("legacyAPIIdentity(%q) = %q, want %q", c.url, got, c.legacy)
		}
	}
	if apiIdentity("http://127.0.0.1:8080") == apiIdentity("http://127.0.0.1:8081") {
		t.Error("two ports of one host are one library")
	}
}
