package format

import (
	"errors"
	"testing"
	"time"
)

func TestHumanSize(t *testing.T) {
	tests := []struct {
		in        int64
		want      string
		wantPrec4 string
	}{
		{0, "0B", "0B"},
		{10, "10B", "10B"},
		{999, "999B", "999B"},
		{1000, "1kB", "1kB"},
		{10000, "10kB", "10kB"},
		{999999, "1e+03kB", "1000kB"}, // go-units (hence Docker) quirk at the unit boundary
		{1234567, "1.23MB", "1.235MB"},
		{7812345, "7.81MB", "7.812MB"},
		{123456789, "123MB", "123.5MB"},
		{1234567890, "1.23GB", "1.235GB"},
		{5_000_000_000_000, "5TB", "5TB"},
	}
	for _, tc := range tests {
		if got := HumanSize(tc.in); got != tc.want {
			t.Errorf("HumanSize(%d) = %q, want %q", tc.in, got, tc.want)
		}
		if got := HumanSizeWithPrecision(tc.in, 4); got != tc.wantPrec4 {
			t.Errorf("HumanSizeWithPrecision(%d, 4) = %q, want %q", tc.in, got, tc.wantPrec4)
		}
	}
}

func TestCreatedSince(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{500 * time.Millisecond, "Less than a second ago"},
		{time.Second, "1 second ago"},
		{59 * time.Second, "59 seconds ago"},
		{5 * time.Minute, "5 minutes ago"},
		{90 * time.Minute, "2 hours ago"},
		{24 * time.Hour, "24 hours ago"},
		{47 * time.Hour, "47 hours ago"},
		{48 * time.Hour, "2 days ago"},
		{15 * 24 * time.Hour, "2 weeks ago"},
		{400 * 24 * time.Hour, "13 months ago"},
		{-time.Hour, "Less than a second ago"}, // clock skew
	}
	for _, tc := range tests {
		if got := CreatedSince(now.Add(-tc.ago), now); got != tc.want {
			t.Errorf("CreatedSince(now-%v) = %q, want %q", tc.ago, got, tc.want)
		}
	}
	if got := CreatedSince(time.Time{}, now); got != "" {
		t.Errorf("zero time: %q, want empty", got)
	}
	// Time zones do not matter, only the instant.
	if got := CreatedSince(now.Add(-3*time.Hour).In(time.FixedZone("X", 5*3600)), now); got != "3 hours ago" {
		t.Errorf("other zone: %q", got)
	}
}

func TestTruncateID(t *testing.T) {
	tests := map[string]string{
		"sha256:d149ab53f8718e987c3a3024bb8aa0e2caadf6c0328f1d9d850b2a2a67f2819a": "d149ab53f871",
		"d149ab53f8718e987c3a3024bb8aa0e2caadf6c0328f1d9d850b2a2a67f2819a":        "d149ab53f871",
		"sha512:0123456789abcdef":         "0123456789ab",
		"abc":                             "abc",
		"sha256:abc":                      "abc",
		"":                                "",
		"imageID1":                        "imageID1",
		"123456789012":                    "123456789012",
		"a:b:c":                           "b:c",
		"sha256:d149ab53f871:extra-stuff": "d149ab53f871",
	}
	for in, want := range tests {
		if got := TruncateID(in); got != want {
			t.Errorf("TruncateID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEllipsis(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  string
	}{
		// docker/cli's TestEllipsis cases.
		{"t🐳ststring", 0, ""},
		{"t🐳ststring", 1, "t"},
		{"t🐳ststring", 2, "t…"},
		{"t🐳ststring", 6, "t🐳st…"},
		{"t🐳ststring", 20, "t🐳ststring"},
		{"你好世界teststring", 0, ""},
		{"你好世界teststring", 1, "你"},
		{"你好世界teststring", 3, "你…"},
		{"你好世界teststring", 6, "你好…"},
		{"你好世界teststring", 20, "你好世界teststring"},
		// ASCII.
		{"/bin/sh -c 'while true; do sleep 1; done'", 20, "/bin/sh -c 'while t…"},
		{"short", 20, "short"},
		{"exactly20characters!", 20, "exactly20characters!"},
		{"exactly21characters!!", 20, "exactly21characters…"},
		{"abc", -5, ""},
		{"", 1, ""},
		{"", 5, ""},
		// Fullwidth forms count double; accented letters single.
		{"ＡＢＣＤ", 5, "ＡＢ…"},
		{"éééééé", 4, "ééé…"},
		// Docker quirk: a wide first character and width 2 leave s unchanged.
		{"你好世界", 2, "你好世界"},
	}
	for _, tc := range tests {
		if got := Ellipsis(tc.in, tc.width); got != tc.want {
			t.Errorf("Ellipsis(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

func TestRuneWidth(t *testing.T) {
	tests := map[rune]int{
		'a': 1, 'é': 1, 'Ж': 1, '…': 1, '→': 1,
		'你': 2, '🐳': 2, 'Ａ': 2, 'ｱ': 1, '가': 2, 'あ': 2, '　': 2,
		0x1100: 2, 0x115F: 2, 0x1160: 1, 0x1F9FF: 2, 0x1FA00: 1, 0x3FFFD: 2, 0x3FFFE: 1,
	}
	for r, want := range tests {
		if got := runeWidth(r); got != want {
			t.Errorf("runeWidth(%U) = %d, want %d", r, got, want)
		}
	}
	for i := 1; i < len(wideRanges); i++ {
		if wideRanges[i-1].last >= wideRanges[i].first || wideRanges[i].first > wideRanges[i].last {
			t.Fatalf("wideRanges not sorted and disjoint at %d: %U", i, wideRanges[i].first)
		}
	}
}

func TestPrettyPrint(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, "None"},
		{"", ""},
		{"a", "a"},
		{"A", "a"},
		{"hello WORLD", "Hello world"},
		{errors.New("ACTIVE"), "Active"},
	}
	for _, tc := range tests {
		if got := PrettyPrint(tc.in); got != tc.want {
			t.Errorf("PrettyPrint(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
