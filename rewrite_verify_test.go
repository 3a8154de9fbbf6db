package unmirror_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/internal/fixtures"
	"github.com/unmirror/unmirror/rewrite"
)

// silentRemove is a custom pass that breaks the contract: it deletes a node
// that other nodes read straight from the GraphDef proto, without recording
// a change and without telling the index, leaving a dangling input.
var silentRemove = &rewrite.Pass{
	Name: "silent-remove",
	Doc:  "Removes a node that others read, behind the index's back.",
	Run: func(c *rewrite.Context) error {
		gd := c.MetaGraphs()[0].GetGraphDef()
		main := c.Graph(0).Main()
		i := slices.IndexFunc(gd.Node, func(n *nodepb.NodeDef) bool { return main.HasConsumers(n.GetName()) })
		if i < 0 {
			return errors.New("no node with consumers")
		}
		gd.Node = slices.Delete(gd.Node, i, i+1)
		return nil
	},
}

// TestRewriteVerifiesUnrecordedEdits: verify checks the protos as they are,
// not an index cached before a pass edited them, so the dangling input a
// custom pass left without recording it stops the rewrite (issue 16 item 3).
func TestRewriteVerifiesUnrecordedEdits(t *testing.T) {
	fx := fixtures.ByName(t, "mirrored_expand")
	p := rewrite.Default()
	require.NoError(t, p.InsertBefore(rewrite.Verify.Name, silentRemove))
	out := filepath.Join(t.TempDir(), "out")
	rep, err := unmirror.Rewrite(context.Background(), fx.Dir, out, unmirror.Options{Pipeline: p})
	var fe *unmirror.FindingsError
	require.ErrorAs(t, err, &fe)
	require.NotNil(t, rep)
	dangling := slices.ContainsFunc(fe.Findings, func(f rewrite.Finding) bool {
		return f.Kind == rewrite.FindingGraph && strings.Contains(f.What, "no such node")
	})
	assert.True(t, dangling, "findings: %v", fe.Findings)
	_, statErr := os.Stat(out)
	assert.ErrorIs(t, statErr, os.ErrNotExist, "nothing is written")
}

// Every pipeline ends with verify (issue 16 item 1): a partial one that
// leaves the model broken writes nothing; SkipVerify writes it, marked
// unverified, with a warning in the report.
func TestRewriteAlwaysVerifies(t *testing.T) {
	fx := fixtures.ByName(t, "mirrored_expand")
	out := filepath.Join(t.TempDir(), "out")
	devicesOnly := rewrite.NewPipeline(rewrite.Devices)
	rep, err := unmirror.Rewrite(context.Background(), fx.Dir, out, unmirror.Options{Pipeline: devicesOnly})
	var fe *unmirror.FindingsError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, []string{"devices", "verify"}, passNames(rep))
	_, statErr := os.Stat(out)
	assert.ErrorIs(t, statErr, os.ErrNotExist, "nothing is written")
	assert.Equal(t, []string{"devices"}, devicesOnly.Names(), "the caller's pipeline is not modified")

	rep, err = unmirror.Rewrite(context.Background(), fx.Dir, out, unmirror.Options{Pipeline: rewrite.Default(), SkipVerify: true})
	require.NoError(t, err)
	assert.NotContains(t, passNames(rep), "verify", "SkipVerify leaves verify out even of a pipeline that holds it")
	assert.True(t, rep.Unverified)
	var text strings.Builder
	require.NoError(t, rep.WriteSummary(&text))
	assert.Contains(t, text.String(), rewrite.UnverifiedWarning)
	_, statErr = os.Stat(out)
	assert.NoError(t, statErr)
}

func passNames(rep *rewrite.Report) []string {
	var out []string
	for _, p := range rep.Passes {
		out = append(out, p.Pass)
	}
	return out
}
