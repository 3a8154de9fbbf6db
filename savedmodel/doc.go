// Package savedmodel reads and writes TensorFlow SavedModel directories
// without TensorFlow.
//
// # Directory layout
//
// A SavedModel directory, as TensorFlow 2.18 writes and reads it
// (tensorflow/cc/saved_model/constants.h, reader.cc, loader.cc):
//
//	saved_model.pb                  SavedModel proto, binary
//	  or saved_model.pbtxt          the same in protobuf text format
//	  (saved_model.cpb              chunked proto-splitter form: not supported here)
//	variables/variables.index       TensorBundle index (see package bundle)
//	variables/variables.data-NNNNN-of-MMMMM
//	assets/...                      files fed to the graph by AssetFileDef
//	assets.extra/...                files for serving infrastructure, never read by TF
//	keras_metadata.pb               legacy Keras SavedMetadata (see KerasMetadata)
//	debug/saved_model_debug_info.pb GraphDebugInfo, stack traces for error messages
//	fingerprint.pb                  FingerprintDef (see package fingerprint)
//	anything else                   the user's (README.txt, TF Hub's tfhub_module.pb, ...):
//	                                Model.OtherFiles, copied verbatim by Write
//
// TensorFlow's C++ reader takes saved_model.pb when present and otherwise
// saved_model.pbtxt. This package refuses a directory holding both
// (ErrAmbiguous), since a rewrite could not tell which one the user means.
// The MetaGraphDef used by a loader is chosen by exact tag-set equality
// ([Model.MetaGraph]). The loader feeds "<dir>/variables/variables" to
// SaverDef.filename_tensor_name and runs the restore op; when
// variables/variables.index is absent it restores nothing. Asset file
// names (AssetFileDef.filename) are joined to "<dir>/assets/".
//
// # Reading
//
// [Read] is the one entry point: Read(ctx, dir, opts) reads an OS
// directory, or a directory of an fs.FS given as [ReadOptions].FS. It loads
// the SavedModel proto (every MetaGraphDef), the small files, the list of
// assets (names and sizes only) and the index of the checkpoint through
// bundle.Open; no tensor data is read. The result is
// a [Model]. Bad input gives a *[FormatError] (file, offset or key, reason)
// or an error wrapping one of the sentinels ([ErrNotSavedModel],
// [ErrUnsupported], [ErrAmbiguous], [ErrUnsafePath]) or the bundle
// package's errors (bundle.ErrCorrupt); reading never panics. Asset names
// that are absolute or contain "..", and symbolic links that leave the
// directory, are ErrUnsafePath.
//
// [ReadOptions] also bounds what untrusted input may cost: the proto file's
// size is checked before it is read (MaxProtoBytes, default
// 2 GiB) and its node count right after parsing (MaxNodes, default 10M),
// both [ErrTooLarge]; VerifyFingerprint checks saved_model.pb and the
// checkpoint index against fingerprint.pb ([ErrFingerprintMismatch]), the
// only way to notice a bit flip in saved_model.pb that still parses.
//
// Reading checks the checkpoint's index, not its data. [Model.VerifyChecksums]
// streams every data shard once and checks every entry's CRC-32C, as
// TensorFlow's restore does; a damaged entry is an error matching
// [ErrCorruptInput] (and bundle.ErrCorrupt) naming the data file and the
// key. Write checks the same checksums as it copies, and its error for a
// damaged input matches ErrCorruptInput too. A model whose SaverDef
// restores from variables/variables while the checkpoint is absent reads
// (TensorFlow's own bert1 and bert2 test models are stripped that way), but
// cannot be loaded by TensorFlow: [Model.RequireVariables] (also run by
// VerifyChecksums) says so ([ErrMissingVariables]). A proto file cut short
// is a *FormatError with Truncated set, saying at which byte the file ends
// and how many bytes the proto needs.
//
// saved_model.pbtxt is parsed with google.golang.org/protobuf's prototext,
// which accepts TensorFlow's text format (TF's half_plus_two_pbtxt test
// model reads; its collection_def holds Any values in type_url/value form),
// and also the expanded Any form C++ TextFormat prints for registered types:
//
//	any_list { value { [type.googleapis.com/tensorflow.AssetFileDef] { ... } } }
//
// # Editing
//
// Rewrite passes edit [Model.Proto] in place, and the output checkpoint
// through the plan methods: [Model.DeleteVariable], [Model.RenameVariable],
// [Model.SetVariable], [Model.ConcatVariable], [Model.SetOutputObjectGraph]; they inspect it with
// [Model.OutputKeys], [Model.OutputEntry], [Model.OutputVariables],
// [Model.OpenOutputEntry] and [Model.OutputObjectGraph]. The plan
// holds metadata only; the bytes of a supplied entry come from a stream
// opened during Write. Keras metadata is edited through [Model.Keras].
//
// The plan is the set of keys the output checkpoint will hold, each either
// copied from an input key (possibly under a new name) or supplied by the
// caller (entry metadata plus a function that opens its stored bytes, or
// the input keys whose stored bytes, concatenated, are its own). It
// starts as "the input checkpoint, unchanged" and [Model.OutputChanged]
// reports whether any edit was made. A pass that renames or deletes
// variables also updates the checkpoint's TrackableObjectGraph
// ([Model.OutputObjectGraph], edit, [Model.SetOutputObjectGraph]),
// because TensorFlow's loaders find variables by its checkpoint_key
// attributes, and the restore function's RestoreV2 tensor_names in the
// MetaGraph.
//
// A typical pass:
//
//	g, _ := m.OutputObjectGraph()
//	m.RenameVariable("v/.ATTRIBUTES/VARIABLE_VALUE", "w/.ATTRIBUTES/VARIABLE_VALUE")
//	m.DeleteVariable("v_1/.ATTRIBUTES/VARIABLE_VALUE")
//	// ... update g's attributes and children to match ...
//	m.SetOutputObjectGraph(g)
//	m.Write(ctx, out, savedmodel.WriteOptions{})
//
// # Writing
//
// [Model.Write] writes a directory TensorFlow loads, atomically (temporary
// sibling directory, fsync, rename) and deterministically. Durability:
// by default every file and directory is fsynced before the rename and the
// parent after it, so once Write returns the output survives a power loss.
// [WriteOptions].NoSync skips the fsyncs only: the output is still renamed
// into place, so a crash of the process leaves the old output or the
// complete new one, but after a power loss or kernel crash the new
// directory may hold empty or short files. TensorFlow's writers never
// fsync, so NoSync is as durable as tf.saved_model.save. The bytes written
// are the same either way.
//
// Serialization:
// saved_model.pb is serialized by package cppproto in the C++ protobuf
// runtime's deterministic order (field numbers ascending, maps sorted),
// which is the order TF's
// fingerprint hashes. Files written through that runtime (TF's own test
// models) come back byte for byte; TF 2.18's Python writes through upb,
// whose field order differs, so such files come back reordered but
// proto-equal, and their recomputed fingerprint.pb equals the one TF wrote
// (checked on models saved by TF 2.18). An
// unchanged checkpoint is copied (or hard-linked) file by file; a changed
// one is rebuilt with bundle.Writer, input entries copied raw in the input's
// data order (bundle.Writer.Concat, which also assembles ConcatVariable
// entries and combines their checksums), supplied ones after them by key.
// Either way every tensor's checksum is verified on the way
// (bundle.Reader.CopyShard for a copy), so a damaged input fails the Write
// instead of reaching the output. fingerprint.pb is never copied: a fresh one is computed from
// the written files exactly as TensorFlow computes it (package fingerprint),
// so it is never stale; it keeps the input's version (the producer its
// writer recorded: 4 for TensorFlow 2.21) and, where the input had a uuid
// (TensorFlow 2.19 and later), gets a fresh one (fingerprint.Inherit). saved_model.pbtxt output is produced by prototext,
// one field per line, with the separator after each field name normalised
// to one space (prototext picks one or two per binary), so the same input
// gives the same bytes whatever build writes it; it gets no fingerprint.pb
// (TensorFlow only fingerprints saved_model.pb).
package savedmodel
