package format

import (
	"bytes"
	"text/tabwriter"
	"unicode/utf8"
)

// Docker's table settings for text/tabwriter (minwidth 10, tabwidth 1, padding 3, spaces).
const (
	alignMinWidth = 10
	alignPadding  = 3
)

// align writes text as tabwriter.NewWriter(out, 10, 1, 3, ' ', 0) followed by Flush would, in
// one pass over the text. tabwriter reads its input byte by byte through a state machine (escapes,
// \v, \f, HTML) and was a third of `berth images`' formatting time over 1,000 rows; the tables
// berth prints use only \t and \n, so align does the same elastic-tabstop layout over those and
// hands any text holding a byte tabwriter treats specially (\v, \f, 0xff) to tabwriter itself.
// FuzzAlign checks the two agree.
func align(out *bytes.Buffer, text []byte) {
	if bytes.ContainsAny(text, "\v\f\xff") {
		tw := tabwriter.NewWriter(out, alignMinWidth, 1, alignPadding, ' ', 0)
		tw.Write(text)
		tw.Flush()
		return
	}
	a := aligner{text: text}
	a.parse()
	a.format(0, len(a.lines))
	// tabwriter ends every line but the last with a newline; the text's own last line is the
	// (empty) one after its final newline.
	for i := range a.lines {
		a.writeLine(out, i)
		if i+1 < len(a.lines) {
			out.WriteByte('\n')
		}
	}
}

type alignCell struct {
	start, end int // text[start:end]
	width      int // in runes, as tabwriter counts
}

type aligner struct {
	text   []byte
	cells  []alignCell
	lines  [][]alignCell // sub-slices of cells
	widths []int         // column widths of the block being laid out (tabwriter's b.widths)
	colW   [][]int       // per line: the widths its tab-terminated cells are padded to
}

func (a *aligner) parse() {
	a.cells = make([]alignCell, 0, bytes.Count(a.text, []byte{'\t'})+bytes.Count(a.text, []byte{'\n'})+1)
	start, first := 0, 0
	for i := 0; i <= len(a.text); i++ {
		if i < len(a.text) && a.text[i] != '\t' && a.text[i] != '\n' {
			continue
		}
		// tabwriter's Flush ends the text's last cell only if it holds something.
		if i < len(a.text) || start < i {
			c := alignCell{start: start, end: i, width: i - start}
			if !ascii(a.text[start:i]) {
				c.width = utf8.RuneCount(a.text[start:i])
			}
			a.cells = append(a.cells, c)
		}
		start = i + 1
		if i == len(a.text) || a.text[i] == '\n' {
			a.lines = append(a.lines, a.cells[first:len(a.cells):len(a.cells)])
			first = len(a.cells)
		}
	}
	a.colW = make([][]int, len(a.lines))
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// format is tabwriter's (*Writer).format: a column's width is set over each block of
// consecutive lines that have a cell in it, then the columns to its right within that block.
func (a *aligner) format(line0, line1 int) {
	column := len(a.widths)
	for this := line0; this < line1; this++ {
		if column >= len(a.lines[this])-1 {
			continue
		}
		a.settle(line0, this)
		line0 = this
		width := alignMinWidth
		for ; this < line1; this++ {
			line := a.lines[this]
			if column >= len(line)-1 {
				break
			}
			if w := line[column].width + alignPadding; w > width {
				width = w
			}
		}
		a.widths = append(a.widths, width)
		a.format(line0, this)
		a.widths = a.widths[:len(a.widths)-1]
		line0 = this
	}
	a.settle(line0, line1)
}

// settle records the column widths for lines [line0, line1) where tabwriter would print them
// (its writeLines), with the widths as they are at that point.
func (a *aligner) settle(line0, line1 int) {
	for i := line0; i < line1; i++ {
		a.colW[i] = append([]int(nil), a.widths...)
	}
}

func (a *aligner) writeLine(out *bytes.Buffer, i int) {
	widths := a.colW[i]
	for j, c := range a.lines[i] {
		out.Write(a.text[c.start:c.end])
		if j < len(widths) {
			for n := widths[j] - c.width; n > 0; n-- {
				out.WriteByte(' ')
			}
		}
	}
}
