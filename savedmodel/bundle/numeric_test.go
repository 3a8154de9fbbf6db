package bundle

import (
	"math"
	"testing"
)

func TestMinifloats(t *testing.T) {
	for _, tc := range []struct {
		bits uint16
		want float64
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x0001, math.Ldexp(1, -24)}, {0x7bff, 65504},
		{0x3555, 0.333251953125}, {0x7c00, math.Inf(1)}, {0xfc00, math.Inf(-1)}, {0x8000, 0},
	} {
		if got := halfToFloat64(tc.bits); got != tc.want {
			t.Errorf("half %#04x = %v, want %v", tc.bits, got, tc.want)
		}
	}
	if !math.IsNaN(halfToFloat64(0x7e00)) {
		t.Errorf("half 0x7e00 is not NaN")
	}
	for _, tc := range []struct {
		bits byte
		want float64
	}{
		{0x38, 1}, {0xc0, -2}, {0x7e, 448}, {0x01, math.Ldexp(1, -9)}, {0x78, 256},
	} {
		if got := e4m3fnToFloat64(tc.bits); got != tc.want {
			t.Errorf("e4m3fn %#02x = %v, want %v", tc.bits, got, tc.want)
		}
	}
	if !math.IsNaN(e4m3fnToFloat64(0x7f)) || !math.IsNaN(e4m3fnToFloat64(0xff)) {
		t.Errorf("e4m3fn 0x7f/0xff is not NaN")
	}
}
