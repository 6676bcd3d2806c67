//go:build linux

package peercred

import (
	"encoding/binary"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// UID is the uid of the process at the other end of a unix socket
// (SO_PEERCRED), and whether it could be told.
func UID(c net.Conn) (int, bool) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return 0, false
	}
	return int(cred.Uid), true
}

// LoopbackUID is the uid owning the socket at the other end of a
// loopback TCP connection (peer: its address; local: this end's), from
// the kernel's tables of sockets (/proc/net/tcp and tcp6), and whether
// it was found there.
func LoopbackUID(peer, local *net.TCPAddr) (int, bool) {
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			// sl local_address rem_address st queues tr retrnsmt uid ...
			f := strings.Fields(line)
			if len(f) < 8 {
				continue
			}
			l, lok := procTCPAddr(f[1])
			r, rok := procTCPAddr(f[2])
			if !lok || !rok || l.Port != peer.Port || r.Port != local.Port || !l.IP.Equal(peer.IP) || !r.IP.Equal(local.IP) {
				continue
			}
			if uid, err := strconv.Atoi(f[7]); err == nil {
				return uid, true
			}
		}
	}
	return 0, false
}

// procTCPAddr reads an address of /proc/net/tcp: the IP as 32-bit words
// in hex, each in the machine's byte order, then ':' and the port in hex.
func procTCPAddr(s string) (*net.TCPAddr, bool) {
	h, p, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(p, 16, 16)
	if !ok || err != nil || (len(h) != 8 && len(h) != 32) {
		return nil, false
	}
	ip := make(net.IP, len(h)/2)
	for i := 0; i < len(h); i += 8 {
		w, err := strconv.ParseUint(h[i:i+8], 16, 32)
		if err != nil {
			return nil, false
		}
		binary.NativeEndian.PutUint32(ip[i/2:], uint32(w))
	}
	return &net.TCPAddr{IP: ip, Port: int(port)}, true
}
