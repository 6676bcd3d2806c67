//go:build linux

package peercred

import (
	"net"
	"os"
	"testing"
)

// The owner of a loopback connection's other end is found in the
// kernel's tables, over IPv4 and IPv6 (TestLoginBrowserNotGivenTheAddress
// has another user's).
func TestLoopbackPeerUID(t *testing.T) {
	for _, c := range []struct{ listen, network string }{
		{"127.0.0.1:0", "tcp4"},
		{"[::1]:0", "tcp6"},
	} {
		ln, err := net.Listen("tcp", c.listen)
		if err != nil {
			t.Logf("%s: %v", c.listen, err)
			continue
		}
		defer ln.Close()
		conn, err := net.Dial(c.network, ln.Addr().String())
		if err != nil {
			t.Logf("%s over %s: %v", ln.Addr(), c.network, err)
			continue
		}
		defer conn.Close()
		uid, ok := LoopbackUID(conn.LocalAddr().(*net.TCPAddr), ln.Addr().(*net.TCPAddr))
		if !ok || uid != os.Getuid() {
			t.Errorf("%s over %s: uid %d, %v; want %d", ln.Addr(), c.network, uid, ok, os.Getuid())
		}
	}
}
