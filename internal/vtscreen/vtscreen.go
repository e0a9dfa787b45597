// Package vtscreen is what a terminal shows after some output, for tests of terminal views (the
// build's tty progress): text, carriage return, newline, cursor up and line clearing are applied;
// colours and cursor visibility change nothing on it; any other control sequence is an error, so
// a view that starts using one gets a test that says so.
package vtscreen

import (
	"fmt"
	"strconv"
	"strings"
)

// Lines returns the screen's lines after out, trailing blanks trimmed, lines longer than any
// screen left whole. A newline also returns to the first column (as a tty's ONLCR does).
func Lines(out string) ([]string, error) {
	var rows [][]rune
	row, col := 0, 0
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '\r':
			col = 0
		case '\n':
			row, col = row+1, 0
		case 0x1b:
			if i+1 >= len(rs) || rs[i+1] != '[' {
				return nil, fmt.Errorf("escape that is not CSI at %d: %q", i, string(rs[i:]))
			}
			j := i + 2
			for j < len(rs) && (rs[j] < 0x40 || rs[j] > 0x7e) {
				j++
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unfinished sequence %q", string(rs[i:]))
			}
			param, final := string(rs[i+2:j]), rs[j]
			switch final {
			case 'A':
				n, _ := strconv.Atoi(param)
				row = max(0, row-max(n, 1))
			case 'K':
				if row < len(rows) {
					if param == "2" {
						rows[row] = nil
					} else if col < len(rows[row]) {
						rows[row] = rows[row][:col]
					}
				}
			case 'm', 'h', 'l':
			default:
				return nil, fmt.Errorf("unexpected sequence %q", string(rs[i:j+1]))
			}
			i = j
		default:
			for len(rows) <= row {
				rows = append(rows, nil)
			}
			for len(rows[row]) < col {
				rows[row] = append(rows[row], ' ')
			}
			if col < len(rows[row]) {
				rows[row][col] = c
			} else {
				rows[row] = append(rows[row], c)
			}
			col++
		}
	}
	var lines []string
	for _, r := range rows {
		lines = append(lines, strings.TrimRight(string(r), " "))
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines, nil
}
