// Package pidfile keeps the pid files of mounts, and finds and stops the
// ghlfs that wrote one.
//
// A mount's serving process writes its pid to a file named after the
// mountpoint (Write), so that "ghlfs unmount" can ask it to stop
// (SIGTERM: it unmounts, uploads what is due within --unmount-grace, and
// exits) and wait until it has (Serving, Proc.Stop), and "ghlfs status"
// can find its control socket (Find, Read, All).
//
// Where the file goes must not hang on the environment: a mount started
// at boot (no $XDG_RUNTIME_DIR) and an unmount from a login shell (with
// one) must find the same file. A mount writes it to the first of
// runtimeDirs it can make private (root: /run/ghlfs); unmount and status
// look in them all, and trust only a folder the user owns and no one else
// may enter. A pid file names its process by pid and start time, and a
// Proc holds it by a pidfd (Linux): a signal never reaches a process that
// took the pid since.
//
// It holds no state of its own and takes no locks.
package pidfile
