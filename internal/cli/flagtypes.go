package cli

import (
	"fmt"
	"math/big"
	"strconv"

	"github.com/docker/go-units"
)

// Flag value types that check their value while the flags are parsed, as Docker's do: a bad
// value is a flag error (exit 125, "See 'docker run --help'.") in Docker's words, and the help
// names the type as Docker's does ("bytes", "decimal").

// sizeString is a byte size given as Docker's units ("512m", "1g"), kept as typed: the command
// converts it where it used to. allowMinusOne admits "-1" (--memory-swap: unlimited).
type sizeString struct {
	p             *string
	allowMinusOne bool
}

func (s sizeString) String() string { return *s.p }
func (s sizeString) Type() string   { return "bytes" }
func (s sizeString) Set(v string) error {
	if !(s.allowMinusOne && v == "-1") {
		if _, err := units.RAMInBytes(v); err != nil {
			return fmt.Errorf("invalid size: '%s'", v) // Docker 20.10's go-units says so for every bad size
		}
	}
	*s.p = v
	return nil
}

// decimalCPUs is --cpus: a decimal number of CPUs, exact to the nano-CPU.
type decimalCPUs struct{ p *float64 }

func (d decimalCPUs) String() string {
	if *d.p == 0 {
		return ""
	}
	return strconv.FormatFloat(*d.p, 'f', -1, 64)
}
func (d decimalCPUs) Type() string { return "decimal" }
func (d decimalCPUs) Set(v string) error {
	r, ok := new(big.Rat).SetString(v)
	if !ok {
		return fmt.Errorf("failed to parse %v as a rational number", v)
	}
	if !new(big.Rat).Mul(r, big.NewRat(1e9, 1)).IsInt() {
		return fmt.Errorf("value is too precise")
	}
	*d.p, _ = r.Float64()
	return nil
}
