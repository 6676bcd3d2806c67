package cache

// Stats is what the Store did since it started, and what waits now: the
// counters of metrics and status. The counters only grow.
type Stats struct {
	// MemoryHits, DiskHits and Misses count the chunks (256 KiB) readers
	// asked for, in turn, that were in memory, on disk (--cache-max-size),
	// or had to be waited for from the storage host (fetched then, or
	// being fetched). A miss fetches the chunks after it too, and read-
	// ahead fetches ahead of a sequential reader: those are hits when
	// asked for. Reads the kernel answers from its page cache, and reads
	// handed to the kernel by passthrough, never reach the Store.
	MemoryHits, DiskHits, Misses int64
	// PendingUploads is how many files have bytes waiting to be sent (or
	// being sent), and PendingBytes their size; files still open for
	// writing are not counted until closed.
	PendingUploads int
	PendingBytes   int64
	// PendingFiles is how many files have any work left in the API
	// (PendingCount): uploads, and also renames and copies to send to the
	// trash.
	PendingFiles int
	// Uploads counts the uploads that landed, UploadedBytes their bytes,
	// and UploadErrors the attempts that failed (each is retried, except
	// a file over the upload limit, which is set aside).
	Uploads, UploadedBytes, UploadErrors int64
}

// Stats reads the Store's counters, and counts what waits in the
// write-back queue (taking each record's lock in turn, as the lock order
// allows, never two at once).
func (s *Store) Stats() Stats {
	cs, qs := s.content.Stats(), s.q.Stats()
	return Stats{
		MemoryHits:     cs.MemoryHits,
		DiskHits:       cs.DiskHits,
		Misses:         cs.Misses,
		Uploads:        qs.Uploads,
		UploadedBytes:  qs.UploadedBytes,
		UploadErrors:   qs.UploadErrors,
		PendingFiles:   qs.PendingFiles,
		PendingUploads: qs.PendingUploads,
		PendingBytes:   qs.PendingBytes,
	}
}
