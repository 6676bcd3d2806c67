// Package times keeps the modification times users set on files (touch
// -d, utimes), which the API has no field for, by API id, in a log file
// beside the cache (times.log). The front reads and sets them; the
// write-back queue moves one to a file's new copy when it lands.
//
// # Lock order
//
// Log.mu is a leaf: nothing is called while it is held but the append
// to the file.
package times
