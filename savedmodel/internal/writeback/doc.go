// Package writeback starts the kernel writing a file's dirty pages to disk
// early, so that a later fsync has less to wait for.
//
// A file copied or written into the page cache is written back only when
// something asks (fsync) or when dirty pages exceed dirty_background_ratio
// (10% of memory by default, more than a 2 GiB checkpoint on a machine
// with 24 GiB). Without a hint, writing a big file and then fsyncing it
// does the two one after the other; with Start after every chunk, the disk
// writes overlap the copy. On a 2 GiB checkpoint (5 interleaved rounds,
// loaded machine) a durable savedmodel Write went from a median of 2.53 s
// to 1.40 s when this was added (commit 6bb1c3f; BENCHMARKS.md has the
// current figures).
//
// Start is only a hint: durability still comes from fsync, which reports
// the errors Start ignores. It uses sync_file_range(SYNC_FILE_RANGE_WRITE)
// on linux/amd64 and does nothing elsewhere. Callers that skip fsync on
// purpose (savedmodel.WriteOptions.NoSync) should not call it: it would
// make them wait for the disk when the page cache would absorb the writes.
package writeback
