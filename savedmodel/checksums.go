package savedmodel

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// ErrCorruptInput is matched (errors.Is) by the error of [Model.VerifyChecksums]
// and of [Model.Write] when the input checkpoint's stored bytes do not match
// their checksums or their index entries: the input is damaged, and
// nothing was written. The same error also matches bundle.ErrCorrupt and
// holds the *bundle.ChecksumError or *bundle.CorruptError that names the
// data file and the key.
var ErrCorruptInput = errors.New("input checkpoint is corrupt")

// VerifyChecksums reads every data shard of the input checkpoint
// (variables/variables.data-*) once, sequentially, and checks the CRC-32C
// of every entry stored in it against the index (for strings and
// variants also the checksums inside the data), as TensorFlow's
// BundleReader does when it restores the variables. It is what
// "unmirror verify" runs by default: reading a model checks only the
// index, so without it a bit flip in tensor data goes unnoticed until
// TensorFlow fails the restore.
//
// It streams each shard through bundle.Reader.CopyShard into io.Discard,
// so its memory use does not grow with the checkpoint and it runs at the
// speed of reading the files plus the bundle CRC (BENCHMARKS.md has the
// figure for a 2 GiB checkpoint; BenchmarkVerifyChecksums). A model that
// restores its variables from a checkpoint that is not there fails with
// RequireVariables's error (ErrMissingVariables); one without a SaverDef
// and without a checkpoint verifies trivially. A damaged entry gives an
// error matching ErrCorruptInput and bundle.ErrCorrupt; ctx's error when
// ctx is done.
func (m *Model) VerifyChecksums(ctx context.Context) error {
	if m.InputCheckpoint == nil {
		return m.RequireVariables()
	}
	for i := 0; i < m.InputCheckpoint.NumShards(); i++ {
		if _, err := m.InputCheckpoint.CopyShard(ctx, io.Discard, i); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("savedmodel: verify checksums: %w", ctx.Err())
			}
			return m.corruptInput(err)
		}
	}
	return nil
}

// corruptInput marks err, an error found while reading the input
// checkpoint's data, as the input's fault when it reports damage. The
// message keeps the bundle error (file, key, what is wrong) and drops the
// context of the copy it interrupted, which is not where the fault lies.
func (m *Model) corruptInput(err error) error {
	if !errors.Is(err, bundle.ErrCorrupt) || errors.Is(err, ErrCorruptInput) {
		return err
	}
	var ce *bundle.ChecksumError
	var ke *bundle.CorruptError
	switch {
	case errors.As(err, &ce):
		err = ce
	case errors.As(err, &ke):
		err = ke
	}
	where := m.dir
	if where == "" {
		where = "input"
	}
	return fmt.Errorf("savedmodel: %s: %w: %w", where, ErrCorruptInput, err)
}
