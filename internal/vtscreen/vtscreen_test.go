package vtscreen

import (
	"reflect"
	"testing"
)

func TestLines(t *testing.T) {
	for _, c := range []struct {
		out  string
		want []string
	}{
		{"a\nb\n", []string{"a", "b"}},
		{"abc\rX", []string{"Xbc"}},
		{"one\ntwo\n\x1b[2Aun\x1b[K\n", []string{"un", "two"}},
		{"x\n\x1b[1A\x1b[2Kyz   \n\n", []string{"yz"}},
		{"\x1b[34mblue\x1b[0m\x1b[?25l", []string{"blue"}},
		{"a\r\nb", []string{"a", "b"}},
	} {
		got, err := Lines(c.out)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Lines(%q) = %q, %v; want %q", c.out, got, err, c.want)
		}
	}
	for _, bad := range []string{"\x1b[2J", "\x1bc", "\x1b[1"} {
		if _, err := Lines(bad); err == nil {
			t.Errorf("Lines(%q): no error", bad)
		}
	}
}
