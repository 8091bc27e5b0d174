package hollow

import (
	"path/filepath"
	"testing"
	"time"
)

func TestProbeFileReadsBackWhatItRecorded(t *testing.T) {
	pf, err := CreateProbeFile(filepath.Join(t.TempDir(), "probes.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	at := time.Date(2026, 11, 22, 1, 2, 3, 456789000, time.UTC)
	want := []PodProbes{
		{UID: "a", Namespace: "ns", Name: "p0", Node: "n0", Seen: at, Running: at.Add(time.Second), StatusPosted: at.Add(2 * time.Second),
			Containers: []ContainerProbe{{Name: "c", Started: at.Add(500 * time.Millisecond)}}},
		{UID: "b", Namespace: "ns", Name: "p1", Node: "n0", Seen: at},
	}
	for _, p := range want {
		pf.Record(p)
	}
	got, err := pf.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].UID != "a" || !got[0].StatusPosted.Equal(want[0].StatusPosted) || got[0].Containers[0].Name != "c" ||
		got[1].UID != "b" || !got[1].Running.IsZero() {
		t.Errorf("read back %+v", got)
	}
}
