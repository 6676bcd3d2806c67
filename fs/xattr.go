package fs

import (
	"context"
	"syscall"
)

// The API keeps no extended attributes. Every xattr call answers ENOSYS,
// which the kernel remembers for the whole mount: from then on it answers
// EOPNOTSUPP itself, so that ls -l, cp -a and file managers, which ask for
// security labels and ACLs on every file, cost no round trip to ghlfs.

func (d *Dir) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

func (d *Dir) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOSYS
}

func (d *Dir) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

func (d *Dir) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return syscall.ENOSYS
}

func (f *File) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

func (f *File) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOSYS
}

func (f *File) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

func (f *File) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return syscall.ENOSYS
}
