package savedmodel

import (
	"errors"
	"fmt"
	"io/fs"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/savedmodel/cppproto"
	"github.com/unmirror/unmirror/savedmodel/fingerprint"
)

// Default limits of ReadOptions.
const (
	// DefaultMaxProtoBytes is protobuf's own limit for one message (2 GiB):
	// TensorFlow writes a chunked saved_model.cpb beyond it.
	DefaultMaxProtoBytes = 2<<30 - 1
	// DefaultMaxNodes bounds the NodeDefs of all graphs and functions; the
	// largest real models have a few million.
	DefaultMaxNodes = 10_000_000
)

// ErrTooLarge is wrapped by the error of a read whose input exceeds a
// ReadOptions limit.
var ErrTooLarge = errors.New("exceeds the read limit")

// ErrFingerprintMismatch is wrapped by the error of a read whose
// saved_model.pb or variables/variables.index does not hash to the value
// recorded in fingerprint.pb, when ReadOptions.VerifyFingerprint asks for
// the check: the file was damaged, or edited after saving without updating
// fingerprint.pb.
var ErrFingerprintMismatch = errors.New("does not match fingerprint.pb")

// ReadOptions configure Read. The zero value reads an OS directory with the
// default limits.
//
// The limits bound the memory a hostile model can make Read use: the proto
// file's size is checked with Stat before it is read, the node count right
// after it is parsed. Every other size Read meets (checkpoint index
// blocks, entries) is checked against the real size of its file.
type ReadOptions struct {
	// FS, when set, is the file system Read reads the directory from (the
	// directory is then a slash-separated path in it, "." for its root);
	// nil reads the OS directory. A model read from an fs.FS is written by
	// streaming its files (no hard links, no kernel copy) and Model.Dir is "".
	FS fs.FS
	// MaxProtoBytes bounds the size of saved_model.pb or .pbtxt. Zero means
	// DefaultMaxProtoBytes; a negative value means no limit.
	MaxProtoBytes int64
	// MaxNodes bounds the number of NodeDefs in all GraphDefs and their
	// function libraries. Zero means DefaultMaxNodes; a negative value means
	// no limit.
	MaxNodes int
	// VerifyFingerprint checks that saved_model.pb (binary format) and
	// variables/variables.index hash to the saved_model_checksum and
	// checkpoint_hash recorded in fingerprint.pb, when it is present: the
	// only way to detect a bit flip in saved_model.pb that still parses.
	// It is off by default because stale fingerprints exist in the wild
	// (TensorFlow's own cc/saved_model/testdata/VarsAndArithmeticObjectGraph
	// has one): TensorFlow's loader does not check them.
	VerifyFingerprint bool
}

func (o ReadOptions) maxProtoBytes() int64 {
	if o.MaxProtoBytes == 0 {
		return DefaultMaxProtoBytes
	}
	return o.MaxProtoBytes
}

func (o ReadOptions) maxNodes() int {
	if o.MaxNodes == 0 {
		return DefaultMaxNodes
	}
	return o.MaxNodes
}

// checkFileSize fails if name is larger than limit (negative: no limit).
func checkFileSize(fsys fs.FS, name string, limit int64) error {
	if limit < 0 {
		return nil
	}
	real, err := resolve(fsys, name)
	if err != nil {
		return fmt.Errorf("savedmodel: %w", err)
	}
	fi, err := fs.Stat(fsys, real)
	if err != nil {
		return fmt.Errorf("savedmodel: %w", err)
	}
	if fi.Size() > limit {
		return fmt.Errorf("savedmodel: %s: %d bytes, more than the limit of %d (ReadOptions.MaxProtoBytes): %w", name, fi.Size(), limit, ErrTooLarge)
	}
	return nil
}

// checkNodes fails if the SavedModel holds more than limit NodeDefs.
func checkNodes(file string, sm *tfpb.SavedModel, limit int) error {
	if limit < 0 {
		return nil
	}
	n := 0
	for _, mg := range sm.GetMetaGraphs() {
		g := mg.GetGraphDef()
		n += len(g.GetNode())
		for _, f := range g.GetLibrary().GetFunction() {
			n += len(f.GetNodeDef())
		}
	}
	if n > limit {
		return fmt.Errorf("savedmodel: %s: %d nodes, more than the limit of %d (ReadOptions.MaxNodes): %w", file, n, limit, ErrTooLarge)
	}
	return nil
}

// checkFingerprint compares the bytes read with the hashes fingerprint.pb
// records (TensorFlow writes it with every binary SavedModel since 2.11).
// A zero hash is not checked.
func (m *Model) checkFingerprint(opts ReadOptions) error {
	raw := m.raw
	m.raw = nil
	fp := m.Fingerprint
	if fp == nil || !opts.VerifyFingerprint {
		return nil
	}
	if want := fp.GetSavedModelChecksum(); want != 0 && m.Format == FormatBinary {
		// TensorFlow hashes its deterministic serialization of the proto,
		// which is usually, but not always, the file's bytes.
		got := fingerprint.Hash64(raw)
		if got != want {
			got = fingerprint.Hash64(cppproto.Marshal(m.Proto))
		}
		if got != want {
			return &FormatError{File: m.File, Offset: -1, Err: ErrFingerprintMismatch,
				Reason: fmt.Sprintf("content hashes to %d, fingerprint.pb records saved_model_checksum %d (damaged, or edited after saving)", got, want)}
		}
	}
	if want := fp.GetCheckpointHash(); want != 0 && m.InputCheckpoint != nil {
		index := m.InputCheckpoint.IndexFile()
		b, err := readFile(m.fsys, index)
		if err != nil {
			return err
		}
		if got := fingerprint.Hash64(b); got != want {
			return &FormatError{File: index, Offset: -1, Err: ErrFingerprintMismatch,
				Reason: fmt.Sprintf("content hashes to %d, fingerprint.pb records checkpoint_hash %d (damaged, or edited after saving)", got, want)}
		}
	}
	return nil
}
