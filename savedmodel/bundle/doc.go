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
// A tensor saved in slices (ShardedVariable, partitioned variables) has a
// full-tensor entry with dtype, shape and slices only (no data), and one
// ordinary entry per slice under the key [SliceKey](full key, slice).
//
// # Checks
//
// Open checks the index table (block checksums, key order), the header, that
// all num_shards data files exist (a missing one is named; data files for
// another shard count are mentioned), and every entry: a dtype a bundle can
// hold, a valid shape (rank <= 254, no negative dimension, no overflow),
// shard_id < num_shards, offset+size within the shard's real size, size ==
// elements*dtype size for fixed-size dtypes (a lower bound for strings and
// variants), and, for sliced entries, no data fields and slices within the
// shape. OpenEntry then verifies the checksum and, for strings and
// variants, the layout as the bytes stream by. No size read from a file is
// used to allocate memory before it has been checked against the file size.
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
