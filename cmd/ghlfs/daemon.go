package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/coreos/go-systemd/v22/daemon"
)

// ghlfs mount --daemon runs the same program again, in a session of its
// own, and waits on a pipe until that child says the mount is ready (exit
// 0) or why it failed (non-zero, with the reason). The child serves the
// mount in the background and logs to --log-file or syslog.

// daemonFDEnv names, in the child's environment, the descriptor of the
// pipe its parent waits on.
const daemonFDEnv = "GHLFS_DAEMON_FD"

const readyWord = "ready"

// startDaemon starts ghlfs with args as a daemon and waits for its word.
// logFile is where its output (and a crash's trace) goes: "" for nowhere
// but its log (syslog).
func startDaemon(args []string, logFile string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("--daemon: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		return err
	}
	defer null.Close()
	out := null
	if logFile != "" {
		if out, err = openLogFile(logFile); err != nil {
			w.Close()
			return err
		}
		defer out.Close()
	}
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        append([]string{"ghlfs"}, args...),
		Env:         append(os.Environ(), daemonFDEnv+"=3"),
		Stdin:       null,
		Stdout:      out,
		Stderr:      out,
		ExtraFiles:  []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	w.Close() // the child holds the only write end now
	if err != nil {
		return fmt.Errorf("--daemon: %w", err)
	}
	word, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	msg := strings.TrimSpace(string(word))
	if msg == readyWord {
		cmd.Process.Release() // it serves on; this process exits
		return nil
	}
	werr := cmd.Wait()
	if msg != "" {
		return errors.New(msg)
	}
	where := "its log (syslog)"
	if logFile != "" {
		where = logFile
	}
	return fmt.Errorf("ghlfs exited before the mount was ready (%v); see %s", werr, where)
}

// notifier tells whoever waits for the mount that it is ready, or why it
// could not be: the parent of a --daemon child (a pipe), and systemd for a
// unit of Type=notify ($NOTIFY_SOCKET).
type notifier struct {
	pipe *os.File // nil unless this is a --daemon child
	done bool
}

func newNotifier() *notifier {
	n := &notifier{}
	if v := os.Getenv(daemonFDEnv); v != "" {
		os.Unsetenv(daemonFDEnv)
		if fd, err := strconv.Atoi(v); err == nil && fd > 2 {
			n.pipe = os.NewFile(uintptr(fd), "daemon-pipe")
		}
	}
	return n
}

// daemonChild reports whether this process is the child of --daemon.
func (n *notifier) daemonChild() bool { return n.pipe != nil }

// ready says the mount serves. status is a one-line description.
func (n *notifier) ready(status string) {
	if n.done {
		return
	}
	n.done = true
	sdNotify(daemon.SdNotifyReady + "\nSTATUS=" + status + "\nMAINPID=" + strconv.Itoa(os.Getpid()))
	if n.pipe != nil {
		fmt.Fprintln(n.pipe, readyWord)
		n.pipe.Close()
	}
}

// failed says the mount could not be made, and why.
func (n *notifier) failed(err error) {
	if n.done {
		return
	}
	n.done = true
	sdNotify("STATUS=failed: " + oneLine(err.Error()))
	if n.pipe != nil {
		bw := bufio.NewWriter(n.pipe)
		fmt.Fprintln(bw, "ghlfs:", err)
		bw.Flush()
		n.pipe.Close()
	}
}

// stopping says the mount is going away (the uploads that are due may
// still go up before the process exits).
func (n *notifier) stopping(status string) {
	sdNotify(daemon.SdNotifyStopping + "\nSTATUS=" + status)
}

func sdNotify(state string) {
	daemon.SdNotify(false, state) // nothing to do when no one listens
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
