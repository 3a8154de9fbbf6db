package main

import (
	"io"
	"reflect"
	"testing"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		tags    []string
		wantErr bool
	}{
		{[]string{"-dir", "m"}, []string{"serve"}, false},
		{[]string{"-dir", "m", "-tags", "serve, gpu,,"}, []string{"serve", "gpu"}, false},
		{[]string{"-dir", "m", "-tags", ""}, nil, false},
		{[]string{"-table", "g.json"}, []string{"serve"}, false},
		{[]string{}, nil, true},
		{[]string{"-dir", "m", "extra"}, nil, true},
		{[]string{"-nope"}, nil, true},
	}
	for _, tc := range tests {
		o, err := parseFlags(tc.args, io.Discard)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: error %v, want error %v", tc.args, err, tc.wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(o.tags, tc.tags) {
			t.Errorf("%q: tags %q, want %q", tc.args, o.tags, tc.tags)
		}
	}
}
