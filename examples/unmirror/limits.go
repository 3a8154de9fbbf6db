package main

import (
	"flag"

	"github.com/unmirror/unmirror/savedmodel"
)

// addReadFlags registers the flags that bound what reading an untrusted
// model may cost, shared by every command that reads one. Zero values mean
// savedmodel's defaults (DefaultMaxProtoBytes, DefaultMaxNodes).
func addReadFlags(fs *flag.FlagSet) *savedmodel.ReadOptions {
	o := &savedmodel.ReadOptions{}
	fs.Int64Var(&o.MaxProtoBytes, "max-proto-bytes", 0, "refuse a larger saved_model.pb (0: 2 GiB, -1: none)")
	fs.IntVar(&o.MaxNodes, "max-nodes", 0, "refuse more graph and function nodes (0: 10M, -1: none)")
	fs.BoolVar(&o.VerifyFingerprint, "verify-fingerprint", false, "check the files against fingerprint.pb")
	return o
}
