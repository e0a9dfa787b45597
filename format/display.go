package format

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker/go-units"
)

// HumanSize renders a byte count the way Docker listings show sizes (images,
// ps --size, history): decimal units with three significant digits, e.g.
// "0B", "999B", "1kB", "7.81MB", "1.23GB".
func HumanSize(bytes int64) string { return HumanSizeWithPrecision(bytes, 3) }

// HumanSizeWithPrecision is [HumanSize] with another number of significant
// digits; "docker system df" uses 4 (go-units' HumanSize), e.g. "1.235GB".
//
// It is go-units' HumanSizeWithPrecision with strconv in place of fmt.Sprintf("%.*g%s"), which
// formats the same digits (fmt's %g with a precision is strconv's 'g'): listings call it once a
// row (TestHumanSizeMatchesUnits).
func HumanSizeWithPrecision(bytes int64, precision int) string {
	if precision < 0 {
		return units.HumanSizeWithPrecision(float64(bytes), precision)
	}
	size, unit := float64(bytes), 0
	for size >= 1000 && unit < len(sizeUnits)-1 {
		size /= 1000
		unit++
	}
	var buf [32]byte
	return string(append(strconv.AppendFloat(buf[:0], size, 'g', precision, 64), sizeUnits[unit]...))
}

// sizeUnits are go-units' decimal abbreviations.
var sizeUnits = [...]string{"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}

// CreatedSince renders the age of t at now as Docker's CREATED column does,
// e.g. "Less than a second ago", "5 minutes ago", "2 weeks ago". A zero t
// gives "" (Docker's image listing then shows "N/A" through its default
// template "{{if .CreatedSince}}{{.CreatedSince}}{{else}}N/A{{end}}").
func CreatedSince(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	return humanDuration(now.Sub(t)) + " ago"
}

// humanDuration is go-units' HumanDuration with strconv in place of fmt.Sprintf, for the same
// reason as HumanSizeWithPrecision (TestHumanDurationMatchesUnits).
func humanDuration(d time.Duration) string {
	seconds := int(d.Seconds())
	if seconds < 1 {
		return "Less than a second"
	} else if seconds == 1 {
		return "1 second"
	} else if seconds < 60 {
		return strconv.Itoa(seconds) + " seconds"
	}
	minutes := int(d.Minutes())
	if minutes == 1 {
		return "About a minute"
	} else if minutes < 60 {
		return strconv.Itoa(minutes) + " minutes"
	}
	hours := int(d.Hours() + 0.5)
	switch {
	case hours == 1:
		return "About an hour"
	case hours < 48:
		return strconv.Itoa(hours) + " hours"
	case hours < 24*7*2:
		return strconv.Itoa(hours/24) + " days"
	case hours < 24*30*2:
		return strconv.Itoa(hours/24/7) + " weeks"
	case hours < 24*365*2:
		return strconv.Itoa(hours/24/30) + " months"
	}
	return strconv.Itoa(int(d.Hours())/24/365) + " years"
}

// shortIDLen is the length of a truncated ID.
const shortIDLen = 12

// TruncateID shortens an image, layer or container ID for display: anything
// up to the first ':' (the digest algorithm, e.g. "sha256:") is dropped and
// at most 12 characters are kept.
func TruncateID(id string) string {
	if i := strings.IndexByte(id, ':'); i >= 0 {
		id = id[i+1:]
	}
	if len(id) > shortIDLen {
		id = id[:shortIDLen]
	}
	return id
}

// Ellipsis shortens s to at most maxWidth display columns, ending it with
// "…" when it had to be cut, like the Docker CLI's formatter.Ellipsis (used
// by ps for COMMAND and MOUNTS, and by search for DESCRIPTION). East Asian
// wide and fullwidth characters count as two columns. A maxWidth of 0 or
// less gives ""; a maxWidth of 1 gives the first character alone.
//
// Docker quirk kept for compatibility: when the first character is wide and
// maxWidth is 2, s is returned unchanged.
func Ellipsis(s string, maxWidth int) string {
	if maxWidth <= 0 || s == "" {
		return ""
	}
	rs := []rune(s)
	if maxWidth == 1 {
		return string(rs[0])
	}

	if len(s) == utf8.RuneCountInString(s) {
		if len(s) <= maxWidth {
			return s
		}
		return string(rs[:maxWidth-1]) + "…"
	}

	// ends[i] is the display width of rs[:i+1].
	ends := make([]int, len(rs))
	width := 0
	for i, r := range rs {
		width += runeWidth(r)
		ends[i] = width
	}
	if width <= maxWidth {
		return s
	}
	limit := maxWidth - 1 // room left for the ellipsis
	for i := 0; i+1 < len(ends); i++ {
		if ends[i] <= limit && ends[i+1] > limit {
			return string(rs[:i+1]) + "…"
		}
	}
	return s
}

// PrettyPrint renders a value for human-oriented output the way the Docker
// CLI does: nil is "None", anything else is printed with %s, then its first
// byte is upper-cased and the rest lower-cased (a one-byte string is only
// lower-cased).
func PrettyPrint(v any) string {
	switch t := v.(type) {
	case nil:
		return "None"
	case string:
		return capitalizeFirst(t)
	default:
		return capitalizeFirst(fmt.Sprintf("%s", t))
	}
}

func capitalizeFirst(s string) string {
	switch len(s) {
	case 0:
		return s
	case 1:
		return strings.ToLower(s)
	default:
		return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
	}
}

// runeWidth is 2 for East Asian Wide (W) and Fullwidth (F) characters and 1
// for everything else, as golang.org/x/text/width classifies them for the
// Docker CLI.
func runeWidth(r rune) int {
	i := sort.Search(len(wideRanges), func(i int) bool { return wideRanges[i].last >= r })
	if i < len(wideRanges) && wideRanges[i].first <= r {
		return 2
	}
	return 1
}

// wideRanges lists the code points whose East_Asian_Width property is W or F
// (Unicode 15.0 EastAsianWidth.txt), merged into sorted, disjoint ranges.
var wideRanges = []struct{ first, last rune }{
	{0x1100, 0x115F}, {0x231A, 0x231B}, {0x2329, 0x232A}, {0x23E9, 0x23EC},
	{0x23F0, 0x23F0}, {0x23F3, 0x23F3}, {0x25FD, 0x25FE}, {0x2614, 0x2615},
	{0x2648, 0x2653}, {0x267F, 0x267F}, {0x2693, 0x2693}, {0x26A1, 0x26A1},
	{0x26AA, 0x26AB}, {0x26BD, 0x26BE}, {0x26C4, 0x26C5}, {0x26CE, 0x26CE},
	{0x26D4, 0x26D4}, {0x26EA, 0x26EA}, {0x26F2, 0x26F3}, {0x26F5, 0x26F5},
	{0x26FA, 0x26FA}, {0x26FD, 0x26FD}, {0x2705, 0x2705}, {0x270A, 0x270B},
	{0x2728, 0x2728}, {0x274C, 0x274C}, {0x274E, 0x274E}, {0x2753, 0x2755},
	{0x2757, 0x2757}, {0x2795, 0x2797}, {0x27B0, 0x27B0}, {0x27BF, 0x27BF},
	{0x2B1B, 0x2B1C}, {0x2B50, 0x2B50}, {0x2B55, 0x2B55}, {0x2E80, 0x2E99},
	{0x2E9B, 0x2EF3}, {0x2F00, 0x2FD5}, {0x2FF0, 0x2FFB}, {0x3000, 0x303E},
	{0x3041, 0x3096}, {0x3099, 0x30FF}, {0x3105, 0x312F}, {0x3131, 0x318E},
	{0x3190, 0x31E3}, {0x31F0, 0x321E}, {0x3220, 0x3247}, {0x3250, 0x4DBF},
	{0x4E00, 0xA48C}, {0xA490, 0xA4C6}, {0xA960, 0xA97C}, {0xAC00, 0xD7A3},
	{0xF900, 0xFAFF}, {0xFE10, 0xFE19}, {0xFE30, 0xFE52}, {0xFE54, 0xFE66},
	{0xFE68, 0xFE6B}, {0xFF01, 0xFF60}, {0xFFE0, 0xFFE6}, {0x16FE0, 0x16FE4},
	{0x16FF0, 0x16FF1}, {0x17000, 0x187F7}, {0x18800, 0x18CD5}, {0x18D00, 0x18D08},
	{0x1AFF0, 0x1AFF3}, {0x1AFF5, 0x1AFFB}, {0x1AFFD, 0x1AFFE}, {0x1B000, 0x1B122},
	{0x1B132, 0x1B132}, {0x1B150, 0x1B152}, {0x1B155, 0x1B155}, {0x1B164, 0x1B167},
	{0x1B170, 0x1B2FB}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E},
	{0x1F191, 0x1F19A}, {0x1F200, 0x1F202}, {0x1F210, 0x1F23B}, {0x1F240, 0x1F248},
	{0x1F250, 0x1F251}, {0x1F260, 0x1F265}, {0x1F300, 0x1F320}, {0x1F32D, 0x1F335},
	{0x1F337, 0x1F37C}, {0x1F37E, 0x1F393}, {0x1F3A0, 0x1F3CA}, {0x1F3CF, 0x1F3D3},
	{0x1F3E0, 0x1F3F0}, {0x1F3F4, 0x1F3F4}, {0x1F3F8, 0x1F43E}, {0x1F440, 0x1F440},
	{0x1F442, 0x1F4FC}, {0x1F4FF, 0x1F53D}, {0x1F54B, 0x1F54E}, {0x1F550, 0x1F567},
	{0x1F57A, 0x1F57A}, {0x1F595, 0x1F596}, {0x1F5A4, 0x1F5A4}, {0x1F5FB, 0x1F64F},
	{0x1F680, 0x1F6C5}, {0x1F6CC, 0x1F6CC}, {0x1F6D0, 0x1F6D2}, {0x1F6D5, 0x1F6D7},
	{0x1F6DC, 0x1F6DF}, {0x1F6EB, 0x1F6EC}, {0x1F6F4, 0x1F6FC}, {0x1F7E0, 0x1F7EB},
	{0x1F7F0, 0x1F7F0}, {0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945}, {0x1F947, 0x1F9FF},
	{0x1FA70, 0x1FA7C}, {0x1FA80, 0x1FA88}, {0x1FA90, 0x1FABD}, {0x1FABF, 0x1FAC5},
	{0x1FACE, 0x1FADB}, {0x1FAE0, 0x1FAE8}, {0x1FAF0, 0x1FAF8}, {0x20000, 0x2FFFD},
	{0x30000, 0x3FFFD},
}
