package unmirror_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/progress"
	"github.com/unmirror/unmirror/rewrite"
)

// Rewrite's progress events come in order: read, each pass of the pipeline
// by name, then the write from 0 to all of the checkpoint's bytes.
func TestRewriteProgress(t *testing.T) {
	var events []progress.Event
	out := filepath.Join(t.TempDir(), "out")
	_, err := unmirror.Rewrite(context.Background(), filepath.Join("testdata", "models", "tf1_towers"), out,
		unmirror.Options{Progress: func(e progress.Event) { events = append(events, e) }})
	require.NoError(t, err)
	require.NotEmpty(t, events)
	assert.Equal(t, progress.Event{Phase: progress.Read}, events[0])
	names := rewrite.Default().Names()
	require.Greater(t, len(events), 1+len(names)+1)
	for i, name := range names {
		assert.Equal(t, progress.Event{Phase: progress.Pass, Pass: name, Index: i + 1, Passes: len(names)}, events[1+i])
	}
	writes := events[1+len(names):]
	assert.Equal(t, int64(0), writes[0].Done)
	last := writes[len(writes)-1]
	assert.Positive(t, last.Total)
	assert.Equal(t, last.Total, last.Done)
	for _, e := range writes {
		assert.Equal(t, progress.Write, e.Phase)
	}
}
