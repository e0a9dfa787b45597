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
	a := aligner{text: text}
	if !a.parse() {
		tw := tabwriter.NewWriter(out, alignMinWidth, 1, alignPadding, ' ', 0)
		tw.Write(text)
		tw.Flush()
		return
	}
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

// parse splits the text into lines and cells; false if it holds a byte tabwriter treats
// specially (\v, \f, 0xff).
func (a *aligner) parse() bool {
	a.cells = make([]alignCell, 0, len(a.text)/8+1)
	start, first, wide := 0, 0, false
	for i := 0; i <= len(a.text); i++ {
		if i < len(a.text) {
			switch c := a.text[i]; {
			case c == '\v' || c == '\f' || c == 0xff:
				return false
			case c >= utf8.RuneSelf:
				wide = true
				continue
			case c != '\t' && c != '\n':
				continue
			}
		}
		// tabwriter's Flush ends the text's last cell only if it holds something.
		if i < len(a.text) || start < i {
			c := alignCell{start: start, end: i, width: i - start}
			if wide {
				c.width = utf8.RuneCount(a.text[start:i])
			}
			a.cells = append(a.cells, c)
		}
		start, wide = i+1, false
		if i == len(a.text) || a.text[i] == '\n' {
			a.lines = append(a.lines, a.cells[first:len(a.cells):len(a.cells)])
			first = len(a.cells)
		}
	}
	a.colW = make([][]int, len(a.lines))
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
	if line0 == line1 {
		return
	}
	w := append([]int(nil), a.widths...)
	for i := line0; i < line1; i++ {
		a.colW[i] = w
	}
}

func (a *aligner) writeLine(out *bytes.Buffer, i int) {
	widths := a.colW[i]
	for j, c := range a.lines[i] {
		out.Write(a.text[c.start:c.end])
		if j < len(widths) {
			for n := widths[j] - c.width; n > 0; n -= len(spaces) {
				out.WriteString(spaces[:min(n, len(spaces))])
			}
		}
	}
}

const spaces = "                                                                "
