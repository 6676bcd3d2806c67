package main

import (
	"slices"
	"strings"
	"testing"
)

func TestHelperArgs(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want string // "" = an error
		fake bool
	}{
		{[]string{"loc1", "/mnt/ghl"}, "mount --daemon --location loc1 /mnt/ghl", false},
		{
			[]string{"loc1", "/mnt/ghl", "-o", "rw,noauto,nofail,_netdev,x-systemd.automount,x-systemd.idle-timeout=60,token_file=/etc/ghlfs/token,cache_dir=/var/cache/ghlfs,dev,suid,exec,nodev,nosuid,noexec,user,auto,defaults"},
			"mount --daemon --location loc1 --token-file=/etc/ghlfs/token --cache-dir=/var/cache/ghlfs /mnt/ghl", false,
		},
		{[]string{"loc1", "/mnt/ghl", "-o", "ro,allow_other,cache_mem=64M,list_all=false,uid=1000"}, "mount --daemon --location loc1 --read-only --allow-other --cache-mem=64M --list-all=false --uid=1000 /mnt/ghl", false},
		{[]string{"-n", "-v", "loc1", "/mnt/ghl", "-ocache_max_size=10G", "-t", "ghlfs"}, "mount --daemon --location loc1 --cache-max-size=10G /mnt/ghl", false},
		{[]string{"loc1", "/mnt/ghl", "-f", "-o", "rw"}, "mount --daemon --location loc1 /mnt/ghl", true},
		{[]string{"loc1", "/mnt/ghl", "-o", "bogus_option=1"}, "", false},
		{[]string{"loc1", "/mnt/ghl", "-s", "-o", "bogus_option=1,ro"}, "mount --daemon --location loc1 --read-only /mnt/ghl", false},
		{[]string{"loc1", "/mnt/ghl", "-o", "location=other"}, "", false},
		// mount(8) waits for the helper: it is always a daemon.
		{[]string{"loc1", "/mnt/ghl", "-o", "daemon=false,ro"}, "mount --daemon --location loc1 --read-only /mnt/ghl", false},
		{[]string{"loc1"}, "", false},
		{[]string{"loc1", "/mnt/ghl", "-o"}, "", false},
		{[]string{"loc1", "/mnt/ghl", "-x"}, "", false},
		// ImageKit: the first field is the url endpoint.
		{[]string{"https://ik.imagekit.io/acme", "/mnt/ik", "-o", "backend=imagekit,key_file=/etc/ghlfs/ik.key,delete_mode=delete,_netdev"},
			"mount --daemon --backend imagekit --url-endpoint https://ik.imagekit.io/acme --key-file=/etc/ghlfs/ik.key --delete-mode=delete /mnt/ik", false},
		{[]string{"https://ik.imagekit.io/acme", "/mnt/ik", "-o", "backend=imagekit,url_endpoint=https://x"}, "", false},
		// OCM: the first field is the instance.
		{[]string{"https://acme.cec.ocp.oraclecloud.com", "/mnt/ocm", "-o", "backend=ocm,root=F123,token_file=/etc/ghlfs/ocm.token,_netdev"},
			"mount --daemon --backend ocm --api-url https://acme.cec.ocp.oraclecloud.com --root=F123 --token-file=/etc/ghlfs/ocm.token /mnt/ocm", false},
		{[]string{"https://acme.cec.ocp.oraclecloud.com", "/mnt/ocm", "-o", "backend=ocm,api_url=https://x"}, "", false},
		{[]string{"loc1", "/mnt/ghl", "-o", "backend=ghl,ro"}, "mount --daemon --location loc1 --read-only /mnt/ghl", false},
		{[]string{"loc1", "/mnt/ghl", "-o", "backend=dropbox"}, "", false},
	} {
		args, fake, _, err := helperArgs(c.argv)
		if c.want == "" {
			if err == nil {
				t.Errorf("%q: want an error, got %q", c.argv, args)
			}
			continue
		}
		if err != nil || strings.Join(args, " ") != c.want || fake != c.fake {
			t.Errorf("%q:\n got %q fake=%v err=%v\nwant %q fake=%v", c.argv, args, fake, err, c.want, c.fake)
		}
	}
}

func TestIgnoredOptionsAreNotFlags(t *testing.T) {
	fl := newMountCmd().Flags()
	for _, o := range ignoredOptions {
		if fl.Lookup(strings.ReplaceAll(o, "_", "-")) != nil {
			t.Errorf("option %q is ignored, yet a mount flag has its name", o)
		}
	}
	if !slices.Contains(ignoredOptions, "_netdev") {
		t.Error("_netdev must be ignored")
	}
}
