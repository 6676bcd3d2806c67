module github.com/ghlfs/ghlfs

go 1.26.0

require (
	github.com/google/renameio/v2 v2.0.2
	github.com/hanwen/go-fuse/v2 v2.12.1
	github.com/jonboulle/clockwork v0.5.0
	github.com/patrickmn/go-cache v2.1.0+incompatible
	golang.org/x/sync v0.25.0
	golang.org/x/time v0.16.0
)

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/spf13/cobra v1.10.2
	github.com/spf13/pflag v1.0.9
	golang.org/x/sys v0.28.0
)

require github.com/inconshreveable/mousetrap v1.1.0 // indirect
