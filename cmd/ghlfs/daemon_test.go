package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listenNotify stands in for systemd: a datagram socket at $NOTIFY_SOCKET.
func listenNotify(t *testing.T) *net.UnixConn {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", sock)
	return conn
}

func readNotify(t *testing.T, conn *net.UnixConn) map[string]string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(buf[:n]), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

func TestSdNotifyMessages(t *testing.T) {
	conn := listenNotify(t)
	t.Setenv(daemonFDEnv, "")
	n := newNotifier()
	n.ready("serving /mnt/ghl")
	got := readNotify(t, conn)
	if got["READY"] != "1" || got["STATUS"] != "serving /mnt/ghl" || got["MAINPID"] != strconv.Itoa(os.Getpid()) {
		t.Errorf("ready sent %v", got)
	}
	n.ready("again") // said once only
	n.failed(errors.New("late"))
	n.stopping("unmounting /mnt/ghl")
	if got := readNotify(t, conn); got["STOPPING"] != "1" || got["STATUS"] != "unmounting /mnt/ghl" {
		t.Errorf("stopping sent %v", got)
	}
}

func TestSdNotifyFailure(t *testing.T) {
	conn := listenNotify(t)
	t.Setenv(daemonFDEnv, "")
	n := newNotifier()
	n.failed(errors.New("checking the token and location:\n401 Invalid JWT"))
	if got := readNotify(t, conn); got["READY"] != "" || got["STATUS"] != "failed: checking the token and location: 401 Invalid JWT" {
		t.Errorf("failed sent %v", got)
	}
}

// The --daemon child's word reaches its parent through the pipe.
func TestDaemonPipeWords(t *testing.T) {
	for _, c := range []struct {
		say  func(*notifier)
		want string
	}{
		{func(n *notifier) { n.ready("x") }, "ready\n"},
		{func(n *notifier) { n.failed(errors.New("no location")) }, "ghlfs: no location\n"},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		n := &notifier{pipe: w}
		if !n.daemonChild() {
			t.Fatal("a notifier with a pipe is a daemon child")
		}
		c.say(n)
		buf := make([]byte, 100)
		k, _ := r.Read(buf)
		r.Close()
		if string(buf[:k]) != c.want {
			t.Errorf("pipe got %q, want %q", buf[:k], c.want)
		}
	}
}
