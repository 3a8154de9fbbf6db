// Package table reads and writes the LevelDB-style sorted string table that
// TensorFlow uses for the index of a TensorBundle checkpoint
// (variables/variables.index). The writer reproduces TensorFlow's output
// byte for byte; the reader checks every length against the file size and
// every block checksum, and reports damage as a *CorruptError.
//
// # Format
//
// All integers are little-endian. varint32/varint64 are the protobuf base-128
// varints. A table is a sequence of blocks followed by a fixed-size footer:
//
//	[data block 0][trailer] ... [data block N-1][trailer]
//	[metaindex block][trailer]
//	[index block][trailer]
//	[footer: 48 bytes]
//
// A block handle is varint64 offset, varint64 size; the offset is that of the
// block's first byte in the file and the size excludes the 5-byte trailer.
//
// Block trailer (5 bytes): one compression type byte (0 = none, 1 = snappy)
// and a fixed32 masked CRC-32C (Castagnoli) of the stored block bytes followed
// by the type byte. The mask is Mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8
// (mod 2^32). A snappy block stores the snappy "block" encoding of the
// uncompressed contents; the checksum covers the compressed bytes.
//
// Block contents (after decompression):
//
//	entry*  restart[num_restarts] fixed32  num_restarts fixed32
//
// where each entry is
//
//	shared varint32, non_shared varint32, value_len varint32,
//	key_delta [non_shared]byte, value [value_len]byte
//
// and the entry's key is the first shared bytes of the previous key in the
// block followed by key_delta. Every restart_interval-th entry (the first one
// included) is a restart point: it has shared == 0 and its offset in the
// block is listed in the restart array. An empty block is the 8 bytes of a
// restart array holding the single offset 0.
//
// Data blocks hold the table's entries, whose keys are strictly increasing
// in bytewise order (the empty key may come first). The metaindex block is
// always empty. The index block is built with a restart interval of 1 and has
// one entry per data block, whose value is that block's handle and whose key
// K satisfies last key of the block <= K < first key of the next block. K is
// computed as in LevelDB: for a block followed by another, the shortest
// separator of the block's last key L and the next block's first key F (find
// the first differing byte position i of L and F; if neither is a prefix of
// the other and L[i] < 0xff and L[i]+1 < F[i], K = L[:i] + (L[i]+1), else
// K = L); for the last block, the short successor of L (increment the first
// byte that is not 0xff and drop the rest; a key of all 0xff stays as it is).
//
// Footer (48 bytes): the metaindex handle and the index handle, zero-padded
// to 40 bytes, then the magic number 0xdb4775248b80fb57 as fixed32 low word,
// fixed32 high word (bytes 57 fb 80 8b 24 75 47 db). No checksum covers the
// footer, so the reader insists on what every writer produces: minimal
// varints and zero padding (then every single-bit flip in a table is
// detected; see TestEveryBitFlipDetected).
//
// # Writer rules (TensorFlow's table builder)
//
// TensorBundle writes with block size 262144, restart interval 16 and no
// compression; these are the zero value of [Options]. When an entry is added:
//
//  1. if the table already has entries and len(key)+len(value) >= 2*block size,
//     the current data block (if not empty) is finished and written first;
//  2. if a data block was written and its index entry is pending, the index
//     entry is added with the shortest separator of the block's last key and
//     the new key;
//  3. the entry is added to the current block, and if the block's size
//     estimate (entry bytes + 4*restart count + 4) is >= block size, the block
//     is finished and written.
//
// Close writes the last data block (if not empty), the empty metaindex block,
// the index block (adding the pending index entry with the short successor of
// the last key) and the footer. With snappy compression a block is stored
// compressed only if that saves at least 1/8 of its size.
package table
