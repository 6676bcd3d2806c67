// Package perms keeps what steers ghlfs beyond other users' reach, as
// ssh demands of ~/.ssh: the token file, the config file and the cache
// dir (whose queue ghlfs uploads with the user's token) must belong to
// the user running ghlfs or to root, and be writable by no one else, and
// so must every folder on the way to them. A file holding a secret (the
// token, the OAuth app's client secret) must also be readable by no one
// else. A file ghlfs writes (a log, a profile) is made private to the
// user, and never opened through a symlink. Each refusal is one message
// that names the command fixing it.
//
// It holds no state and takes no locks.
package perms
