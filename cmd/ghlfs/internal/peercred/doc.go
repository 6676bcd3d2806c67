// Package peercred tells who is at the other end of a local connection:
// the uid of the process on a unix socket (SO_PEERCRED, LOCAL_PEERCRED),
// and of the owner of a loopback TCP connection's other end where the
// kernel's tables of sockets say it (Linux). ghlfs's control socket
// answers only its own user with it, and ghlfs login's start page is
// refused to other users.
//
// It holds no state and takes no locks.
package peercred
