package backends

import "testing"

// A library's identity keeps the API's port: two services on one host
// are two libraries (issue 16); credentials and a query stay out. It is
// normalised: the host in lower case, a default port (https 443, http 80)
// left out, so that https://HOST:443 and https://host are one library.
// The name earlier versions gave a loopback service, without its port, is
// known, for the records and listings saved under it; so is the name the
// previous version gave this very URL, before it was normalised.
func TestAPIIdentity(t *testing.T) {
	for _, c := range []struct{ url, id, legacy, earlier string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1", ""},
		{"http://127.0.0.1:8081/", "http://127.0.0.1:8081", "http://127.0.0.1", ""},
		{"http://localhost:9000/api", "http://localhost:9000/api", "http://localhost", ""},
		{"http://[::1]:9000", "http://[::1]:9000", "http://::1", ""},
		{"https://services.leadconnectorhq.com", "https://services.leadconnectorhq.com", "", ""},
		{"https://user:secret@api.example.com:8443/v1/?sig=x#f", "https://api.example.com:8443/v1", "", ""},
		{"https://Services.LeadConnectorHQ.com:443", "https://services.leadconnectorhq.com", "", "https://Services.LeadConnectorHQ.com:443"},
		{"HTTPS://api.example.com:443/v1", "https://api.example.com/v1", "", "https://api.example.com:443/v1"},
		{"http://Example.com:80/", "http://example.com", "", "http://Example.com:80"},
		{"http://example.com:443", "http://example.com:443", "", ""},
		{"https://example.com:80", "https://example.com:80", "", ""},
		{"http://[::1]:80", "http://[::1]", "http://::1", "http://[::1]:80"},
	} {
		if got := APIIdentity(c.url); got != c.id {
			t.Errorf("APIIdentity(%q) = %q, want %q", c.url, got, c.id)
		}
		if got := LegacyAPIIdentity(c.url); got != c.legacy {
			t.Errorf("LegacyAPIIdentity(%q) = %q, want %q", c.url, got, c.legacy)
		}
		if got := EarlierAPIIdentity(c.url); got != c.earlier {
			t.Errorf("EarlierAPIIdentity(%q) = %q, want %q", c.url, got, c.earlier)
		}
	}
	if APIIdentity("http://127.0.0.1:8080") == APIIdentity("http://127.0.0.1:8081") {
		t.Error("two ports of one host are one library")
	}
	if APIIdentity("https://HOST.example.com:443") != APIIdentity("https://host.example.com") {
		t.Error("https://HOST.example.com:443 and https://host.example.com are two libraries")
	}
}
