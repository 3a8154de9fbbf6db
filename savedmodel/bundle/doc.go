// Package bundle reads and writes TensorFlow's TensorBundle checkpoint
// format, the variables/ directory of a SavedModel, in pure Go and without
// ever holding tensor data in memory: data is streamed through a bounded
// buffer and its CRC-32C (Castagnoli, hardware-accelerated) checked on the
// way.
//
// # Files
//
// A bundle with prefix P (in a SavedModel, "variables/variables") is
//
//	P.index                      a table (package table) of entries
//	P.data-00000-of-0000N ...    N data shards holding the tensor bytes
//
// # Index
//
// The index is a table (see package table for its layout) written with
// block size 262144, restart interval 16 and no compression (a reader must
// also accept snappy blocks). Keys are sorted bytewise. The first key is ""
// and holds a BundleHeaderProto:
//
//	num_shards = 1   int32, number of data shards (>= 1)
//	endianness = 2   LITTLE (0) or BIG (1); only LITTLE is read here
//	version    = 3   VersionDef: producer 1, min_consumer 0 when written
//
// Open applies TensorFlow's CheckVersions rule: producer >= 0, min_consumer
// <= 1, and 1 not in bad_consumers. Every other key maps to a
// BundleEntryProto:
//
//	dtype    = 1   DataType
//	shape    = 2   TensorShapeProto (always present, possibly empty)
//	shard_id = 3   int32, data shard holding the bytes
//	offset   = 4   int64, byte offset in that shard
//	size     = 5   int64, byte count
//	crc32c   = 6   fixed32, masked CRC-32C of the bytes (see below)
//	slices   = 7   TensorSliceProto*, set only on a sliced full-tensor entry
//
// # Data
//
// A shard is the concatenation of tensor bytes in the order they were
// written (TensorFlow's alignment is 1, so there is no padding). The
// checksum mask is Mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8.
//
// Fixed-size dtypes (those [DTypeSize] knows) are stored as raw
// little-endian elements in row-major order; size must equal elements times
// the dtype size, and crc32c is Mask(crc32c(bytes)).
//
// DT_STRING is stored as
//
//	[varint64 len_0] ... [varint64 len_n-1] [fixed32 Mask(crc_L)] [bytes_0] ... [bytes_n-1]
//
// where crc_L is the CRC-32C of the lengths, each taken as a little-endian
// uint32 (uint64 when it exceeds 2^32-1) rather than as varint bytes. The
// entry's crc32c is Mask of the CRC continued over the 4 stored checksum
// bytes and then over all string bytes. TensorFlow reads a 0-byte string
// entry as empty strings.
//
// DT_VARIANT stores each element as [varint64 len] [VariantTensorDataProto
// bytes] [fixed32 Mask(running crc)], where the running CRC covers each len
// as a little-endian uint64, the bytes, and each earlier stored checksum;
// crc32c is Mask of the final running CRC.
//
// # Slices
//
// A tensor saved in slices (ShardedVariable, partitioned variables, a
// sharding callback such as MaxShardSizePolicy) has a full-tensor entry with
// dtype, shape and slices, and one ordinary entry per slice under the key
// [SliceKey](full key, slice) ([DisplayKey] renders such a key readably).
// TensorFlow's rules, from tensor_bundle.cc, tensor_slice_set.cc and
// tensor_slice.cc of TensorFlow 2.18:
//
//   - BundleWriter::AddSlice writes the full-tensor entry with dtype, shape
//     and slices only, and a slice covering the whole tensor as an ordinary
//     entry instead (Add). A sharded save (Saver(sharded=True), a
//     sharding callback, ShardByTaskPolicy) writes one bundle per shard and
//     MergeBundles (the MergeV2Checkpoints op, save_restore_v2_ops.cc)
//     merges their indexes: a key seen again is allowed only if both
//     entries are sliced, and only their slices are appended; every other
//     entry, the first full-tensor entry of a sliced tensor included, gets
//     shard_id set to its merged shard. So a sliced entry's shard_id may be
//     any shard, and its slices may lie in any shards.
//   - BundleReader::GetSliceValue ignores the full-tensor entry's shard_id,
//     offset, size and crc32c: it registers the slices (TensorSliceSet::
//     Register: each slice's rank equals the tensor's and every extent lies
//     in its dimension, SliceTensorShape; no two slices overlap,
//     "Overlapping slices"), checks that they cover what is read (QueryMeta,
//     "Does not have sufficient slices" for a gap), and reads each slice's
//     own entry (GetBundleEntryProto of its SliceKey: a missing one is
//     NotFound) with the ordinary size and checksum checks (GetValue).
//   - An extent without length, or with length -1, is kFullExtent
//     (GetExtentLength); it is full only with start 0 (IsFullAt). A slice
//     that is full in every dimension is not looked up under a slice key:
//     the full-tensor entry's own data fields are read (GetSliceValue's
//     stored_slice.IsFull() case).
//   - The slices are copied into the tensor with the full entry's dtype for
//     fixed-size dtypes only (GetSliceValue's HANDLE_COPY list); a sliced
//     DT_STRING or DT_VARIANT tensor cannot be read whole.
//
// This reader follows those rules, except that it also rejects what
// TensorFlow accepts but then reads wrong bytes with: a negative extent
// start or length, a start without a length other than 0, a slice entry of
// another dtype than the tensor's or of another shape than the slice's. A
// sliced entry whose only slice is full is read as an unsliced entry. Unlike
// TensorFlow, Open checks every sliced tensor up front (overlaps and gaps
// included), not when it is read. [Reader.OpenTensor] reads a sliced tensor
// whole, assembled from its slices in any tiling.
//
// # Writing
//
// [Writer] mirrors the reader: it writes data shards as tensors are added
// (in the order of Add per shard), and the index, sorted, on Close; files
// are synced on Close. [Writer.Copy] moves an entry's bytes from a Reader
// without decoding them, verifying the checksum on the way; copying all
// keys in [Reader.KeysInDataOrder] order into a Writer with the same shard
// count reproduces TensorFlow's files byte for byte. [Writer.Concat] adds
// an entry whose stored bytes are a Reader's entries concatenated (one for
// a rename, several for a tensor assembled along its first axis): the
// sources are verified as they are read, and the new checksum is the
// CRC-32C combination of theirs (crc(A‖B) from crc(A), crc(B) and len(B),
// by GF(2) matrices), so that each byte is checksummed once. With
// [WriterOptions.KernelCopy] the kernel copies the bytes (copy_file_range)
// while a goroutine verifies the sources.
package bundle
