package rewrite

// Exported for the external benchmarks in perf_e2e_test.go.
var (
	SynthModel = dvSynth
	SynthNodes = dvNodes
	CPUTime    = dvCPUTime
	BenchSizes = dvBenchSizes
)
