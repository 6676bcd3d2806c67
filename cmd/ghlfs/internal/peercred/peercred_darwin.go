//go:build darwin

package peercred

import (
	"net"

	"golang.org/x/sys/unix"
)

// UID is the uid of the process at the other end of a unix socket
// (LOCAL_PEERCRED), and whether it could be told.
func UID(c net.Conn) (int, bool) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *unix.Xucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	}); err != nil || cerr != nil {
		return 0, false
	}
	return int(cred.Uid), true
}

// LoopbackUID: this system's tables of sockets are not read; the
// owner of a loopback connection's other end is not known.
func LoopbackUID(peer, local *net.TCPAddr) (int, bool) { return 0, false }
