//go:build !linux

package spool

import (
	"errors"
	"os"
)

// Elsewhere than on Linux, a note is always a file of its own
// (Spool.Note).
func setNote(*os.File, []byte) error  { return errors.ErrUnsupported }
func readNote(string) ([]byte, error) { return nil, nil }
func dropNote(string) error           { return nil }
