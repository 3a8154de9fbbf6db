package savedmodel

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/unmirror/unmirror/progress"
)

// Write reports the checkpoint data it writes: Done from 0 up to Total,
// never down, with Total the shards' size for a copied checkpoint and the
// planned entries' size for a rebuilt one; and only with Progress set.
func TestWriteProgress(t *testing.T) {
	tests := []struct {
		name     string
		fixture  string
		edit     func(*Model) error // nil: the checkpoint is copied
		hardlink bool
	}{
		{"copied, one shard", "plain", nil, false},
		{"copied, two shards", "tf1_towers", nil, false},
		{"hard-linked", "tf1_towers", nil, true},
		{"rebuilt", "tf1_towers", func(m *Model) error { return m.DeleteVariable(m.OutputKeys()[0]) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Read(context.Background(), filepath.Join("..", "testdata", "models", tt.fixture), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			want := int64(0)
			if tt.edit == nil {
				for i := 0; i < m.InputCheckpoint.NumShards(); i++ {
					want += m.InputCheckpoint.ShardSize(i)
				}
			} else {
				if err := tt.edit(m); err != nil {
					t.Fatal(err)
				}
				for _, k := range m.OutputKeys() {
					e, _ := m.OutputEntry(k)
					want += e.GetSize()
				}
			}
			if want == 0 {
				t.Fatal("fixture has no checkpoint data")
			}
			var events []progress.Event
			opts := WriteOptions{HardLink: tt.hardlink, Progress: func(e progress.Event) { events = append(events, e) }}
			if err := m.Write(context.Background(), outDir(t), opts); err != nil {
				t.Fatal(err)
			}
			if len(events) < 2 {
				t.Fatalf("%d events, want at least 2: %+v", len(events), events)
			}
			if events[0].Done != 0 {
				t.Errorf("first event Done = %d, want 0", events[0].Done)
			}
			for i, e := range events {
				if e.Phase != progress.Write || e.Total != want {
					t.Fatalf("event %d = %+v, want phase write, Total %d", i, e, want)
				}
				if i > 0 && e.Done < events[i-1].Done {
					t.Fatalf("Done went down: %+v after %+v", e, events[i-1])
				}
			}
			if last := events[len(events)-1]; last.Done != want {
				t.Errorf("last event Done = %d, want Total %d", last.Done, want)
			}
		})
	}
}
