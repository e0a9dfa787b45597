package distribution

import "testing"

func TestSplitSearchTerm(t *testing.T) {
	for term, want := range map[string][2]string{
		"busybox":                {"index.docker.io", "busybox"},
		"library/busybox":        {"index.docker.io", "library/busybox"},
		"localhost/x":            {"localhost", "x"},
		"127.0.0.1:5000/team/db": {"127.0.0.1:5000", "team/db"},
		"reg.example.com/web":    {"reg.example.com", "web"},
	} {
		h, q := splitSearchTerm(term)
		if h != want[0] || q != want[1] {
			t.Errorf("%s: %s %s", term, h, q)
		}
	}
	if !loopback("127.0.0.1:5000") || !loopback("localhost:80") || !loopback("[::1]:5000") || loopback("reg.example.com") {
		t.Error("loopback")
	}
}
