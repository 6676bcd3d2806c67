package ghltest

import (
	"testing"
	"time"
)

// UploadRate paces the reading of an upload's body; the file lands whole.
func TestUploadRate(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Faults: Faults{UploadRate: 100_000}})
	data := make([]byte, 50_000)
	for i := range data {
		data[i] = byte(i)
	}
	begin := time.Now()
	var out struct {
		FileID string `json:"fileId"`
	}
	s.upload(t, map[string]string{"name": "slow.bin"}, formFile{field: "file", fileName: "slow.bin", data: data}).expect(t, 201).decode(t, &out)
	// 50 kB at 100 kB/s: the first 5 kB go at once, the rest take 0.45 s.
	if d := time.Since(begin); d < 400*time.Millisecond {
		t.Errorf("took %v, want at least 0.4s", d)
	}
	if got, ok := s.Content(out.FileID); !ok || string(got) != string(data) {
		t.Errorf("stored %d bytes (%v), want the %d sent", len(got), ok, len(data))
	}
}
